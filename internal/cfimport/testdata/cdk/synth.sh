#!/usr/bin/env bash
# Regenerates the templates the import's golden tests read, with the real
# aws-cdk-lib from npm (the test suite itself needs neither node nor the CDK):
#   internal/cfimport/testdata/cdk/synth.sh
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-package-lock --no-audit --no-fund >/dev/null
for app in seed modern; do
  out=$(mktemp -d)
  CDK_OUTDIR=$out node "$app.js"
  cp "$out"/*.template.json "../cdk-$app.template.json"
  rm -rf "$out"
  echo "wrote testdata/cdk-$app.template.json"
done
