// Signs with AWS's own JavaScript signer, for the compatibility test:
//   node sign.mjs url|cookies URL KEY_PAIR_ID PRIVATE_KEY_FILE EXPIRES_UNIX [RESOURCE_PATTERN]
// prints the signed URL, or a Cookie header value.
import { readFileSync } from "node:fs";
import { getSignedUrl, getSignedCookies } from "@aws-sdk/cloudfront-signer";

const [mode, url, keyPairId, keyFile, expires, pattern] = process.argv.slice(2);
const privateKey = readFileSync(keyFile, "utf8");
const dateLessThan = new Date(Number(expires) * 1000).toISOString();

if (mode === "url") {
  console.log(getSignedUrl({ url, keyPairId, privateKey, dateLessThan }));
} else if (mode === "custom-url") {
  const policy = JSON.stringify({
    Statement: [{ Resource: pattern, Condition: { DateLessThan: { "AWS:EpochTime": Number(expires) } } }],
  });
  console.log(getSignedUrl({ url, keyPairId, privateKey, policy }));
} else if (mode === "cookies") {
  const policy = JSON.stringify({
    Statement: [{ Resource: pattern, Condition: { DateLessThan: { "AWS:EpochTime": Number(expires) } } }],
  });
  const c = getSignedCookies({ url, keyPairId, privateKey, policy });
  console.log(Object.entries(c).map(([k, v]) => `${k}=${v}`).join("; "));
} else {
  console.error("usage: node sign.mjs url|custom-url|cookies URL KEY_PAIR_ID PRIVATE_KEY_FILE EXPIRES_UNIX [RESOURCE]");
  process.exit(2);
}
