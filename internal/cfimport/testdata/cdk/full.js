// Two AWS::CloudFront::Distribution resources with every property of the
// CloudFormation schema set, as aws-cdk-lib's own type information lists
// them: one with the modern behavior settings (policies) and a custom
// origin, one with the legacy ones (ForwardedValues, TTLs) and an S3
// origin. The import's schema test walks them.
const cdk = require('aws-cdk-lib');
const cf = require('aws-cdk-lib/aws-cloudfront');
const fs = require('fs');
const zlib = require('zlib');

const jsii = JSON.parse(zlib.gunzipSync(fs.readFileSync(require('path').join(require('path').dirname(require.resolve('aws-cdk-lib/package.json')), '.jsii.gz'))));

// Values a field takes when the test gives it no other.
const override = {
  cachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
  originRequestPolicyId: '216adef6-5c7f-47e4-b989-5492eafa07d3',
  responseHeadersPolicyId: '60669652-455b-4ae9-85a4-c4c02393f86c',
  targetOriginId: 'x-id', id: 'x-id', forward: 'whitelist', restrictionType: 'whitelist',
  viewerProtocolPolicy: 'redirect-to-https', originProtocolPolicy: 'https-only', eventType: 'viewer-request',
};

function value(type, name, omit, path) {
  if (type.primitive) {
    if (override[name] !== undefined) return override[name];
    return { string: 'x-' + name.toLowerCase(), number: 7, boolean: true, json: { x: 1 }, date: new Date(0) }[type.primitive];
  }
  if (type.collection) {
    const v = value(type.collection.elementtype, name, omit, path);
    return type.collection.kind === 'array' ? [v] : { x: v };
  }
  if (type.union) {
    const t = type.union.types.find((u) => u.fqn !== 'aws-cdk-lib.IResolvable');
    return value(t, name, omit, path);
  }
  const t = jsii.types[type.fqn];
  const out = {};
  for (const p of t.properties || []) {
    const sub = path + '.' + p.name;
    if (omit.some((o) => sub.endsWith(o))) continue;
    out[p.name] = value(p.type, p.name, omit, sub);
  }
  return out;
}

const config = (omit) => value({ fqn: 'aws-cdk-lib.aws_cloudfront.CfnDistribution.DistributionConfigProperty' }, 'distributionConfig', omit, '');

const app = new cdk.App();
const stack = new cdk.Stack(app, 'Full');
const modern = config(['forwardedValues', 'minTtl', 'defaultTtl', 'maxTtl', '.s3OriginConfig', 'vpcOriginConfig',
  'originAccessControlId', 's3Origin', 'customOrigin', 'cnamEs', 'distributionConfig.cnames']);
const legacy = config(['cachePolicyId', 'originRequestPolicyId', 'customOriginConfig', 'vpcOriginConfig']);
new cf.CfnDistribution(stack, 'Modern', { distributionConfig: modern });
new cf.CfnDistribution(stack, 'Legacy', { distributionConfig: legacy });
app.synth();
