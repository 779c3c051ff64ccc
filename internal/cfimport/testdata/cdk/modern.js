// A modern distribution as the CDK's documentation writes one: an SPA
// from a private bucket through origin access control, an API on an HTTP
// origin with the CDK's default cache policy (CachingOptimized) and no
// origin request policy, a signed path with a key group, and a
// CloudFront Function.
const cdk = require('aws-cdk-lib');
const cf = require('aws-cdk-lib/aws-cloudfront');
const origins = require('aws-cdk-lib/aws-cloudfront-origins');
const s3 = require('aws-cdk-lib/aws-s3');
const fs = require('fs');
const path = require('path');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'Modern', { env: { account: '111122223333', region: 'eu-west-1' } });
const site = new s3.Bucket(stack, 'Site');
const storage = new s3.Bucket(stack, 'Storage');
const publicKey = new cf.PublicKey(stack, 'SignerKey', {
  encodedKey: fs.readFileSync(path.join(__dirname, 'public_key.pem'), 'utf8'),
});
const keyGroup = new cf.KeyGroup(stack, 'Signers', { items: [publicKey] });
const rewrite = new cf.Function(stack, 'SpaRewrite', {
  runtime: cf.FunctionRuntime.JS_2_0,
  code: cf.FunctionCode.fromInline(`function handler(event) {
  var request = event.request;
  if (!request.uri.includes('.')) {
    request.uri = '/index.html';
  }
  return request;
}`),
});
const api = new origins.HttpOrigin('api.example.org', { protocolPolicy: cf.OriginProtocolPolicy.HTTPS_ONLY });
new cf.Distribution(stack, 'Cdn', {
  defaultRootObject: 'index.html',
  defaultBehavior: {
    origin: origins.S3BucketOrigin.withOriginAccessControl(site),
    viewerProtocolPolicy: cf.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
    functionAssociations: [{ function: rewrite, eventType: cf.FunctionEventType.VIEWER_REQUEST }],
  },
  additionalBehaviors: {
    '/api/*': {
      origin: api,
      viewerProtocolPolicy: cf.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
    },
    '/search/*': {
      origin: api,
      viewerProtocolPolicy: cf.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cf.AllowedMethods.ALLOW_ALL,
      cachePolicy: cf.CachePolicy.USE_ORIGIN_CACHE_CONTROL_HEADERS_QUERY_STRINGS,
      originRequestPolicy: cf.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    },
    '/storage/*': {
      origin: origins.S3BucketOrigin.withOriginAccessControl(storage),
      viewerProtocolPolicy: cf.ViewerProtocolPolicy.HTTPS_ONLY,
      trustedKeyGroups: [keyGroup],
    },
  },
  errorResponses: [{ httpStatus: 403, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: cdk.Duration.seconds(10) }],
});
app.synth();
