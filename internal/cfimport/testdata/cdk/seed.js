// The seed article's construct (CloudfrontDistribution), in JavaScript, as
// the article writes it in Python: the legacy CloudFrontWebDistribution
// with an S3 website endpoint for the SPA, an API load balancer and an
// assets bucket behind trusted signers.
const cdk = require('aws-cdk-lib');
const cf = require('aws-cdk-lib/aws-cloudfront');
const s3 = require('aws-cdk-lib/aws-s3');
const ec2 = require('aws-cdk-lib/aws-ec2');
const elbv2 = require('aws-cdk-lib/aws-elasticloadbalancingv2');
const iam = require('aws-cdk-lib/aws-iam');
const certmgr = require('aws-cdk-lib/aws-certificatemanager');
const { Construct } = require('constructs');

class CloudfrontDistribution extends Construct {
  constructor(scope, id, { apiLb, assetsBucket, websiteBucket, domainName, usingGccAcct = false }) {
    super(scope, id);
    const oai = new cf.OriginAccessIdentity(this, 'Identity', { comment: 'Allow CloudFront to access S3 Bucket' });
    if (!usingGccAcct) this.grantOaiRead(oai, assetsBucket);
    const certificate = domainName ? new certmgr.Certificate(this, 'Certificate', { domainName }) : undefined;
    this.distribution = new cf.CloudFrontWebDistribution(this, cdk.Stack.of(this).stackName, {
      aliasConfiguration: certificate ? { acmCertRef: certificate.certificateArn, names: [domainName] } : undefined,
      comment: cdk.Stack.of(this).stackName,
      originConfigs: [
        { // Frontend Website
          customOriginSource: {
            domainName: websiteBucket.bucketWebsiteDomainName,
            originProtocolPolicy: cf.OriginProtocolPolicy.HTTP_ONLY,
          },
          behaviors: [{ isDefaultBehavior: true }],
        },
        { // API load balancer
          customOriginSource: {
            domainName: apiLb.loadBalancerDnsName,
            originProtocolPolicy: cf.OriginProtocolPolicy.HTTP_ONLY,
          },
          behaviors: [{
            pathPattern: '/api*',
            allowedMethods: cf.CloudFrontAllowedMethods.ALL,
            forwardedValues: { queryString: true, headers: ['referer', 'authorization', 'origin', 'accept', 'host'] },
            defaultTtl: cdk.Duration.seconds(0),
            minTtl: cdk.Duration.seconds(0),
            maxTtl: cdk.Duration.seconds(0),
          }],
        },
        { // Assets
          s3OriginSource: { s3BucketSource: assetsBucket, originAccessIdentity: oai },
          behaviors: [{ pathPattern: '/storage/*', trustedSigners: ['self'] }],
        },
      ],
    });
    new cdk.CfnOutput(this, 'Endpoint', { value: this.distribution.distributionDomainName });
  }

  grantOaiRead(oai, bucket) {
    const statement = new iam.PolicyStatement({
      actions: ['s3:GetObject*', 's3:List*'],
      resources: [bucket.bucketArn, `${bucket.bucketArn}/storage*`],
    });
    statement.addCanonicalUserPrincipal(oai.cloudFrontOriginAccessIdentityS3CanonicalUserId);
    const policy = new s3.BucketPolicy(this, 'AssetsPolicy', { bucket });
    policy.document.addStatements(statement);
  }
}

const app = new cdk.App();
const stack = new cdk.Stack(app, 'Seed', { env: { account: '111122223333', region: 'us-east-1' } });
const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
const apiLb = new elbv2.ApplicationLoadBalancer(stack, 'ApiLb', { vpc, internetFacing: true });
apiLb.addListener('Http', { port: 80 }).addAction('Ok', { action: elbv2.ListenerAction.fixedResponse(200) });
const assetsBucket = s3.Bucket.fromBucketName(stack, 'Assets', 'my-project-assets');
const websiteBucket = new s3.Bucket(stack, 'Website', {
  websiteIndexDocument: 'index.html', websiteErrorDocument: 'index.html', publicReadAccess: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS_ONLY,
});
new CloudfrontDistribution(stack, 'Cdn', { apiLb, assetsBucket, websiteBucket, domainName: 'my-project.example.org' });
app.synth();
