#!/usr/bin/env bash
# Regenerates the templates the import's golden tests read, with the real
# aws-cdk-lib from npm (the test suite itself needs neither node nor the CDK):
#   internal/cfimport/testdata/cdk/synth.sh
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-package-lock --no-audit --no-fund >/dev/null
for app in seed modern full; do
  out=$(mktemp -d)
  # full.js sets every property to a placeholder on purpose: CloudFormation's
  # validation warnings about those values are expected.
  CDK_OUTDIR=$out node "$app.js" 2>"$out/warnings" || { cat "$out/warnings" >&2; exit 1; }
  cp "$out"/*.template.json "../cdk-$app.template.json"
  rm -rf "$out"
  echo "wrote testdata/cdk-$app.template.json"
done
