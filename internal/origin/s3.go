package origin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/edgefront/edgefront/internal/config"
)

// MaxKeyLength is S3's limit on an object key, in bytes.
const MaxKeyLength = 1024

// emptySHA256 is the payload hash of a request without a body.
var emptySHA256 = hex.EncodeToString(func() []byte { s := sha256.Sum256(nil); return s[:] }())

// S3 is a bucket reached over the S3 REST API: AWS S3 or any store that
// speaks it. Requests to a bucket that is not anonymous are signed with
// SigV4, as CloudFront's origin access control does.
type S3 struct {
	log       *slog.Logger
	name      string
	bucket    string
	region    string
	endpoint  *url.URL
	pathStyle bool
	prefix    string
	creds     aws.CredentialsProvider // nil when anonymous
	signer    *v4.Signer
	transport splitTransport
	website   *website
	rawErrors bool
	warning   string // a setup problem that does not stop serving
}

// NewS3 builds an s3 origin. Credentials come from access_key_id and
// secret_access_key when set, else from the AWS default chain
// (environment, shared files, web identity, container credentials), and
// from the EC2 instance metadata service only with credentials: instance
// or AWS_EC2_METADATA_DISABLED=false: that address is never probed
// unless the config asks. When the chain finds nothing, NewS3 logs it in
// one sentence (Warning returns it) and requests fail at once. It logs to
// log (slog.Default() when nil).
func NewS3(name string, c config.Origin, log *slog.Logger) (*S3, error) {
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	ep := c.Endpoint
	if ep == "" {
		ep = "https://s3." + region + ".amazonaws.com"
	}
	u, err := url.Parse(ep)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", name, err)
	}
	u.Path, u.RawPath = "", ""
	t, err := NewTransport(c)
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", name, err)
	}
	if log == nil {
		log = slog.Default()
	}
	o := &S3{
		log: log, name: name, bucket: c.Bucket, region: region, endpoint: u, prefix: strings.TrimPrefix(c.Path, "/"),
		signer:    v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		transport: newSplitTransport(t),
		rawErrors: c.ForwardErrors,
	}
	// Virtual-hosted addressing needs a host name the bucket can go in front
	// of; an IP address or localhost endpoint means path style.
	o.pathStyle = isIPOrLocal(u.Hostname()) || strings.Contains(c.Bucket, ".")
	if c.ForcePathStyle != nil {
		o.pathStyle = *c.ForcePathStyle
	}
	switch {
	case c.Anonymous:
	case c.AccessKeyID != "":
		o.creds = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
	default:
		opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(region)}
		if c.Credentials != "instance" && os.Getenv("AWS_EC2_METADATA_DISABLED") != "false" {
			opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
		}
		cfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			return nil, fmt.Errorf("origin %q: AWS credentials: %w", name, err)
		}
		o.creds = cfg.Credentials
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = o.creds.Retrieve(ctx)
		cancel()
		if err != nil {
			where := "set access_key_id and secret_access_key, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a shared credentials file, anonymous: true for a public bucket, or credentials: instance on EC2"
			if c.Credentials == "instance" {
				where = "the EC2 instance metadata service gave none (is an instance role attached?)"
			}
			o.warning = fmt.Sprintf("origin %q: no AWS credentials for bucket %q: %s; until then its requests get 502", name, c.Bucket, where)
			log.Warn(o.warning)
		}
	}
	if c.Website != nil {
		o.website = newWebsite(c.Website)
	}
	return o, nil
}

// Warning is what is wrong with the origin's setup that does not stop the
// edge from serving, such as missing credentials, or "".
func (o *S3) Warning() string { return o.warning }

func isIPOrLocal(host string) bool {
	return net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// Target describes the bucket, for explain.
func (o *S3) Target() string {
	if o.pathStyle {
		return o.endpoint.String() + "/" + o.bucket
	}
	return o.endpoint.Scheme + "://" + o.bucket + "." + o.endpoint.Host
}

// Describe says how requests reach the bucket, for explain.
func (o *S3) Describe() string {
	auth := "signed with SigV4"
	if o.creds == nil {
		auth = "anonymous (unsigned)"
	}
	s := fmt.Sprintf("bucket %s in %s, %s; only range, conditional and upload headers and no query string reach it", o.bucket, o.region, auth)
	if o.website != nil {
		s += fmt.Sprintf("; website hosting emulated (index document %s", o.website.index)
		if o.website.errorDoc != "" {
			s += ", error document " + o.website.errorDoc
		}
		s += fmt.Sprintf(", %d routing rules)", len(o.website.rules))
	}
	return s
}

// s3RequestHeaders are the viewer headers an S3 origin receives: the
// conditional and range ones, and those that describe an uploaded body.
var s3RequestHeaders = map[string]bool{
	"Range": true, "If-Range": true, "If-Match": true, "If-None-Match": true,
	"If-Modified-Since": true, "If-Unmodified-Since": true,
	"Content-Type": true, "Content-Length": true, "Content-Md5": true, "Content-Encoding": true,
	"Content-Disposition": true, "Content-Language": true, "Cache-Control": true, "Expires": true,
}

// Prepare addresses out to the object its path names. No query string
// goes to the bucket: one could turn a read into another S3 operation.
func (o *S3) Prepare(out *http.Request) {
	for name := range out.Header {
		if !s3RequestHeaders[name] {
			delete(out.Header, name)
		}
	}
	key := o.key(out.URL.Path)
	o.address(out, key)
}

// key returns the object key for a request path.
func (o *S3) key(path string) string {
	k := strings.TrimPrefix(path, "/")
	if o.prefix != "" {
		k = o.prefix + "/" + k
	}
	return k
}

// address sets out's URL to the object key.
func (o *S3) address(out *http.Request, key string) {
	out.URL.Scheme = o.endpoint.Scheme
	out.URL.RawQuery = ""
	out.URL.Opaque = ""
	out.Host = ""
	if o.pathStyle {
		out.URL.Host = o.endpoint.Host
		out.URL.Path = "/" + o.bucket + "/" + key
		out.URL.RawPath = "/" + escapeKey(o.bucket) + "/" + escapeKey(key)
	} else {
		out.URL.Host = o.bucket + "." + o.endpoint.Host
		out.URL.Path = "/" + key
		out.URL.RawPath = "/" + escapeKey(key)
	}
}

// escapeKey encodes a key as S3's canonical URI does: every byte but the
// unreserved characters and '/' as %XX.
func escapeKey(key string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) + 16)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// keyOf is the object key a prepared request asks for.
func (o *S3) keyOf(out *http.Request) string {
	p := out.URL.Path
	if o.pathStyle {
		p = strings.TrimPrefix(p, "/"+o.bucket)
	}
	return strings.TrimPrefix(p, "/")
}

// RoundTrip fetches the object, emulating website hosting when configured,
// and turns S3's errors into short answers.
func (o *S3) RoundTrip(out *http.Request) (*http.Response, error) {
	if len(o.keyOf(out)) > MaxKeyLength {
		return textResponse(out, http.StatusBadRequest, "the object key is longer than S3's 1024 bytes"), nil
	}
	if o.website != nil && (out.Method == http.MethodGet || out.Method == http.MethodHead) {
		return o.website.roundTrip(o, out)
	}
	return o.send(out)
}

// send signs and sends one request, and translates an error answer.
func (o *S3) send(out *http.Request) (*http.Response, error) {
	if err := o.sign(out); err != nil {
		return nil, err
	}
	resp, err := o.transport.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	return o.answer(out, resp), nil
}

func (o *S3) sign(out *http.Request) error {
	hash := emptySHA256
	if out.Body != nil && out.Body != http.NoBody && out.ContentLength != 0 {
		hash = "UNSIGNED-PAYLOAD" // the body streams; it is not read twice to hash it
	}
	out.Header.Set("X-Amz-Content-Sha256", hash)
	if o.creds == nil {
		return nil
	}
	creds, err := o.creds.Retrieve(out.Context())
	if err != nil {
		return fmt.Errorf("%w: no AWS credentials for bucket %q (set access_key_id and secret_access_key, AWS_ACCESS_KEY_ID, a shared credentials file, or anonymous: true): %v", ErrOriginConfig, o.bucket, err)
	}
	return o.signer.SignHTTP(out.Context(), creds, out, hash, "s3", o.region, time.Now())
}

// ErrOriginConfig marks a failure that is the edge's configuration's, not
// the viewer's nor the network's.
var ErrOriginConfig = errors.New("origin misconfigured")

// s3Error is S3's XML error body.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// answer passes a successful response on without S3's own headers, and
// turns an error into a status and a short body.
func (o *S3) answer(out *http.Request, resp *http.Response) *http.Response {
	for name := range resp.Header {
		if strings.HasPrefix(name, "X-Amz-") || name == "Server" {
			if name != "X-Amz-Website-Redirect-Location" {
				delete(resp.Header, name)
			}
		}
	}
	if resp.StatusCode < 400 {
		return resp
	}
	var e s3Error
	if out.Method != http.MethodHead {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		xml.Unmarshal(body, &e)
		if o.rawErrors {
			resp.Body.Close()
			resp.Body = io.NopCloser(strings.NewReader(string(body)))
			resp.ContentLength = int64(len(body))
			return resp
		}
	}
	resp.Body.Close()
	status, why := o.classify(resp.StatusCode, e, out)
	r := textResponse(out, status, why)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		r.Header.Set("Retry-After", ra)
	}
	return r
}

// classify maps S3's error to the viewer's status, logging the ones the
// operator must act on.
func (o *S3) classify(status int, e s3Error, out *http.Request) (int, string) {
	log := func(msg string) {
		o.log.Error(msg, "origin", o.name, "bucket", o.bucket, "key", o.keyOf(out), "s3_code", e.Code, "s3_message", e.Message)
	}
	switch {
	case e.Code == "NoSuchKey" || (e.Code == "" && status == http.StatusNotFound && out.Method == http.MethodHead):
		return http.StatusNotFound, "no such object"
	case e.Code == "NoSuchBucket":
		log("the bucket does not exist: check the origin's bucket, region and endpoint")
		return http.StatusBadGateway, "the origin's bucket does not exist"
	case e.Code == "AccessDenied" || (e.Code == "" && status == http.StatusForbidden):
		log("S3 denied access: the credentials or the bucket policy are the likely cause (S3 also says 403 for a missing key when the caller may not list the bucket)")
		return http.StatusForbidden, "access denied"
	case e.Code == "InvalidAccessKeyId" || e.Code == "SignatureDoesNotMatch" || e.Code == "ExpiredToken" || e.Code == "InvalidToken" || e.Code == "AuthorizationHeaderMalformed":
		log("S3 refused the edge's credentials: check access_key_id, secret_access_key and region")
		return http.StatusBadGateway, "the origin refused the edge's credentials"
	case e.Code == "SlowDown" || e.Code == "Throttling" || e.Code == "ServiceUnavailable" || status == http.StatusServiceUnavailable:
		return http.StatusServiceUnavailable, "the origin is busy; try again later"
	case status == http.StatusRequestedRangeNotSatisfiable, status == http.StatusPreconditionFailed, status == http.StatusMethodNotAllowed, status == http.StatusBadRequest:
		return status, strings.ToLower(http.StatusText(status))
	case status >= 500:
		log("S3 failed")
		return http.StatusBadGateway, "the origin failed"
	}
	return status, strings.ToLower(http.StatusText(status))
}

// textResponse is a short plain-text answer made by the origin adapter.
func textResponse(req *http.Request, status int, why string) *http.Response {
	body := strconv.Itoa(status) + " " + http.StatusText(status) + ": " + why + ".\n"
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Request: req,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}
}

// Close closes the idle connections.
func (o *S3) Close() {
	o.transport.CloseIdleConnections()
}

// Domains are the names a function may call the origin by: its bucket's
// virtual-host name at its endpoint, and as CloudFront names S3 origins
// (REST and website endpoints).
func (o *S3) Domains() []string {
	return []string{o.bucket + "." + o.endpoint.Host,
		o.bucket + ".s3." + o.region + ".amazonaws.com", o.bucket + ".s3.amazonaws.com",
		o.bucket + ".s3-website-" + o.region + ".amazonaws.com", o.bucket + ".s3-website." + o.region + ".amazonaws.com"}
}
