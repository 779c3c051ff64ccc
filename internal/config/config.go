// Package config is edgefront's configuration file: the YAML schema as plain
// structs, defaults, ${ENV} expansion, and a validator that reports every
// problem at once with its file and line. It carries no behaviour; the edge
// package compiles a Config into runtime objects.
package config

import "gopkg.in/yaml.v3"

// GeoIP names MaxMind-format databases (GeoLite2 or GeoIP2, .mmdb): a
// Country or City database for the location headers, an ASN database for
// CloudFront-Viewer-ASN.
type GeoIP struct {
	Database    string `yaml:"database"`
	ASNDatabase string `yaml:"asn_database"`
}

// Config is the whole file.
type Config struct {
	Listen    Listen     `yaml:"listen"`
	TLS       TLS        `yaml:"tls"`
	Admin     Admin      `yaml:"admin"`
	Log       Log        `yaml:"log"`
	AccessLog *AccessLog `yaml:"access_log"`
	Limits    Limits     `yaml:"limits"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For names the client.
	TrustedProxies []string            `yaml:"trusted_proxies"`
	Cache          Cache               `yaml:"cache"`
	KeyGroups      map[string][]Signer `yaml:"key_groups"`
	// KeyValueStores are what cf.kvs() reads in functions: JSON files in
	// CloudFront's key value store import format.
	KeyValueStores map[string]KeyValueStore `yaml:"key_value_stores"`
	// GeoIP locates viewers for the CloudFront-Viewer-* location headers.
	GeoIP         *GeoIP         `yaml:"geoip"`
	Distributions []Distribution `yaml:"distributions"`
	// Cluster shares this node's cache invalidations, rate limits and
	// certificates with others through Redis.
	Cluster *Cluster `yaml:"cluster"`

	// File is the path the config was read from, for messages.
	File string `yaml:"-"`
	pos  positions
}

// Listen names the viewer-facing listeners.
type Listen struct {
	HTTP  string `yaml:"http"`
	HTTPS string `yaml:"https"`
	// HTTP3 serves HTTP/3 (QUIC, UDP) on the HTTPS port too, announced
	// to viewers with Alt-Svc.
	HTTP3 bool `yaml:"http3"`
}

// TLS configures the HTTPS listener.
type TLS struct {
	Certificates           []Certificate `yaml:"certificates"`
	ACME                   *ACME         `yaml:"acme"`
	MinimumProtocolVersion string        `yaml:"minimum_protocol_version"`
}

// ACME obtains and renews a certificate for every alias automatically.
type ACME struct {
	Email string `yaml:"email"`
	// CA is the ACME directory URL (Let's Encrypt's when unset).
	CA string `yaml:"ca"`
	// CARoot is a PEM file of roots to trust for the CA's own HTTPS, for
	// private CAs.
	CARoot string `yaml:"ca_root"`
	// Storage is the folder that keeps accounts and certificates
	// (./certs beside the config when unset).
	Storage string `yaml:"storage"`
	// Challenges are the ACME challenge types to use: http-01 and
	// tls-alpn-01 (both when unset).
	Challenges []string `yaml:"challenges"`
	// RenewalCheck is how often certificates are checked for renewal
	// (10m when unset).
	RenewalCheck *Duration `yaml:"renewal_check"`
}

// LetsEncrypt is the ACME directory used when tls.acme names none.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// Certificate is a PEM certificate chain and its key.
type Certificate struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Log is how edgefront logs its own events.
type Log struct {
	Format string `yaml:"format"` // text (default) | json
	Level  string `yaml:"level"`  // debug | info (default) | warn | error
}

// AccessLog is one line per request.
type AccessLog struct {
	Path   string `yaml:"path"`   // a file, or "-" for stdout
	Format string `yaml:"format"` // cloudfront (default) | json
	// EdgeLocation is the x-edge-location field (the host name when unset).
	EdgeLocation string `yaml:"edge_location"`
	// Buffer is how many lines may wait for the disk before lines are
	// dropped and counted (8192 when unset).
	Buffer int `yaml:"buffer"`
}

// Limits protect the edge from floods and slow clients.
type Limits struct {
	ReadHeaderTimeout   *Duration `yaml:"read_header_timeout"`    // 10s
	ClientBodyTimeout   *Duration `yaml:"client_body_timeout"`    // 60s between two reads of a body
	IdleTimeout         *Duration `yaml:"idle_timeout"`           // 120s
	SendTimeout         *Duration `yaml:"send_timeout"`           // 60s between two writes to a viewer
	MaxHeaderBytes      *Size     `yaml:"max_header_bytes"`       // 64KiB
	MaxConnections      *int      `yaml:"max_connections"`        // 16384; 0 is no limit
	MaxConnectionsPerIP *int      `yaml:"max_connections_per_ip"` // 256; 0 is no limit
	// FunctionTime is how long a CloudFront Function may run, in wall-clock
	// time, before it is stopped and the viewer gets a 503 (20ms).
	FunctionTime *Duration `yaml:"function_time"`
}

// RateLimit limits the requests of each client.
type RateLimit struct {
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
	By                string  `yaml:"by"` // client_ip
	// MaxClients is how many client addresses are tracked at once
	// (131072 when unset); memory stays bounded by it.
	MaxClients int `yaml:"max_clients"`
}

// Admin is the admin listener: health, invalidations, reload.
type Admin struct {
	Listen string `yaml:"listen"`
	// TokenFile holds the bearer token the admin API asks for; required
	// when Listen is not on loopback.
	TokenFile string `yaml:"token_file"`
}

// Cache sizes the edge cache.
type Cache struct {
	// Memory is the memory tier's size (256MiB when unset).
	Memory *Size `yaml:"memory"`
	// MaxObjectSize is the largest body the cache stores (an eighth of
	// Memory, or of Disk.Size with a disk tier, when unset); larger
	// answers stream through uncached.
	MaxObjectSize *Size `yaml:"max_object_size"`
	// MaxMemoryObjectSize is, with a disk tier, the largest body also
	// kept in memory; larger ones are on disk only (Memory/64 when unset).
	MaxMemoryObjectSize *Size `yaml:"max_memory_object_size"`
	// Disk is the optional disk tier.
	Disk *DiskCache `yaml:"disk"`
}

// DiskCache is the disk tier: a folder and its size.
type DiskCache struct {
	Path string `yaml:"path"`
	Size *Size  `yaml:"size"`
}

// Default cache sizes.
const (
	DefaultCacheMemory = 256 << 20
	DefaultCacheDisk   = 10 << 30
)

// CacheSizes is a cache's shape with defaults filled in.
type CacheSizes struct {
	Memory, MaxObject, MaxMemoryObject int64
	DiskPath                           string // "" without a disk tier
	Disk                               int64
}

// Sizes returns the cache's shape, with defaults filled in.
func (c Cache) Sizes() CacheSizes {
	s := CacheSizes{Memory: DefaultCacheMemory}
	if c.Memory != nil {
		s.Memory = int64(*c.Memory)
	}
	s.MaxObject = s.Memory / 8
	s.MaxMemoryObject = s.MaxObject
	if c.Disk != nil {
		s.DiskPath, s.Disk = c.Disk.Path, DefaultCacheDisk
		if c.Disk.Size != nil {
			s.Disk = int64(*c.Disk.Size)
		}
		s.MaxObject = s.Disk / 8
		s.MaxMemoryObject = s.Memory / 64
	}
	if c.MaxObjectSize != nil {
		s.MaxObject = int64(*c.MaxObjectSize)
	}
	if c.MaxMemoryObjectSize != nil {
		s.MaxMemoryObject = int64(*c.MaxMemoryObjectSize)
	}
	return s
}

// Signer is a public key that may sign URLs and cookies, by its key pair id.
type Signer struct {
	ID            string `yaml:"id"`
	PublicKeyFile string `yaml:"public_key_file"`
}

// Distribution is one site: the Host names it answers, its origins and its
// ordered behaviors.
type Distribution struct {
	Name                 string            `yaml:"name"`
	Aliases              []string          `yaml:"aliases"`
	ViewerProtocolPolicy string            `yaml:"viewer_protocol_policy"`
	DefaultRootObject    string            `yaml:"default_root_object"`
	Origins              map[string]Origin `yaml:"origins"`
	Behaviors            []Behavior        `yaml:"behaviors"`
	DefaultBehavior      *Behavior         `yaml:"default_behavior"`
	CustomErrorResponses []ErrorResponse   `yaml:"custom_error_responses"`
	RateLimit            *RateLimit        `yaml:"rate_limit"`
	// CacheTagHeader names the field the origin sends its answers' cache
	// tags in (CloudFront's CacheTagConfig), for invalidations by #tag;
	// "" for none.
	CacheTagHeader string `yaml:"cache_tag_header"`
	// GeoRestriction serves viewers by their country, as CloudFront's.
	GeoRestriction *GeoRestriction `yaml:"geo_restriction"`
	// ContinuousDeployment sends some viewers to a staging distribution.
	ContinuousDeployment *ContinuousDeployment `yaml:"continuous_deployment"`
	// ViewerMTLS asks this distribution's viewers for client certificates.
	ViewerMTLS *ViewerMTLS `yaml:"viewer_mtls"`
	// ConnectionFunction allows or denies its viewers' TLS connections.
	ConnectionFunction *ConnectionFunction `yaml:"connection_function"`
}

// Origin is where a behavior's requests go.
type Origin struct {
	Type          string            `yaml:"type"` // http | s3 | dir | group | edgefront
	URL           string            `yaml:"url"`
	Path          string            `yaml:"path"`
	CustomHeaders map[string]string `yaml:"custom_headers"`
	CAFile        string            `yaml:"ca_file"`
	// HTTP2 reaches an http origin over HTTP/2 only: h2 for https://, h2c
	// for http:// (gRPC servers).
	HTTP2 bool `yaml:"http2"`
	// Timeouts, as CloudFront's origin connection timeout, response (read)
	// timeout and keep-alive timeout.
	ConnectTimeout   Duration `yaml:"connect_timeout"`
	ReadTimeout      Duration `yaml:"read_timeout"`
	KeepaliveTimeout Duration `yaml:"keepalive_timeout"`
	MaxIdleConns     int      `yaml:"max_idle_conns"`

	Root string `yaml:"root"` // dir origins

	// group origins: a primary and a secondary origin of the same
	// distribution, and the statuses that fail over (500, 502, 503, 504
	// when unset; connection errors and timeouts always do).
	Primary             string `yaml:"primary"`
	Secondary           string `yaml:"secondary"`
	FailoverStatusCodes []int  `yaml:"failover_status_codes"`

	// s3 origins
	Bucket          string `yaml:"bucket"`
	Region          string `yaml:"region"`
	Endpoint        string `yaml:"endpoint"`
	ForcePathStyle  *bool  `yaml:"force_path_style"`
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
	// Credentials "instance" lets the AWS default chain ask the EC2
	// instance metadata service for a role's credentials; without it the
	// chain stops at the environment, shared files, web identity and
	// container credentials, and never probes that address.
	Credentials string   `yaml:"credentials"`
	Anonymous   bool     `yaml:"anonymous"`
	Website     *Website `yaml:"website"`
	// ForwardErrors sends S3's own XML error bodies to viewers instead of
	// a short text.
	ForwardErrors bool `yaml:"forward_errors"`
}

// Website emulates S3 static website hosting over the REST API, so that a
// private bucket can host a site.
type Website struct {
	IndexDocument string        `yaml:"index_document"`
	ErrorDocument string        `yaml:"error_document"`
	RoutingRules  []RoutingRule `yaml:"routing_rules"`
}

// RoutingRule is an S3 website routing rule. Keys are relative to the
// origin's path prefix.
type RoutingRule struct {
	Condition RoutingCondition `yaml:"condition"`
	Redirect  RoutingRedirect  `yaml:"redirect"`
}

// RoutingCondition says when a rule applies; both given means both.
type RoutingCondition struct {
	KeyPrefixEquals             string `yaml:"key_prefix_equals"`
	HTTPErrorCodeReturnedEquals int    `yaml:"http_error_code_returned_equals"`
}

// RoutingRedirect says where a rule sends the viewer.
type RoutingRedirect struct {
	HostName             string `yaml:"host_name"`
	Protocol             string `yaml:"protocol"`
	HTTPRedirectCode     int    `yaml:"http_redirect_code"`
	ReplaceKeyPrefixWith string `yaml:"replace_key_prefix_with"`
	ReplaceKeyWith       string `yaml:"replace_key_with"`
}

// Behavior routes the requests whose path matches PathPattern.
type Behavior struct {
	PathPattern    string    `yaml:"path_pattern"`
	TargetOrigin   string    `yaml:"target_origin"`
	AllowedMethods []string  `yaml:"allowed_methods"`
	MinTTL         *TTL      `yaml:"min_ttl"`
	DefaultTTL     *TTL      `yaml:"default_ttl"`
	MaxTTL         *TTL      `yaml:"max_ttl"`
	Forward        *Forward  `yaml:"forward"`
	CacheKey       *CacheKey `yaml:"cache_key"`
	StripPrefix    string    `yaml:"strip_prefix"`
	// ResponseHeaders is the behavior's response headers policy.
	ResponseHeaders *ResponseHeaders `yaml:"response_headers"`
	// Functions are the behavior's CloudFront Functions.
	Functions *Functions `yaml:"functions"`
	// Compress compresses answers at the edge (gzip, br, zstd) with
	// CloudFront's conditions.
	Compress bool `yaml:"compress"`
	// GRPC passes gRPC calls through (never cached) to an http2 origin.
	GRPC bool `yaml:"grpc"`
	// MaxBodySize is the largest request body accepted (413 beyond it).
	MaxBodySize    *Size           `yaml:"max_body_size"`
	ErrorResponses []ErrorResponse `yaml:"error_responses"`
	// TrustedKeyGroups requires a signed URL or signed cookies made with a
	// key of one of these groups.
	TrustedKeyGroups []string `yaml:"trusted_key_groups"`
}

// Functions are a behavior's CloudFront Functions (JavaScript files).
type Functions struct {
	ViewerRequest  string `yaml:"viewer_request"`
	ViewerResponse string `yaml:"viewer_response"`
	KeyValueStore  string `yaml:"key_value_store"` // what cf.kvs() reads
}

// KeyValueStore is a key value store's file.
type KeyValueStore struct {
	File string `yaml:"file"`
}

// ResponseHeaders is a response headers policy: a CloudFront managed one
// by name or id, or a custom one.
type ResponseHeaders struct {
	Policy       string           `yaml:"policy"`
	CORS         *CORSPolicy      `yaml:"cors"`
	Security     *SecurityHeaders `yaml:"security"`
	Custom       []CustomHeader   `yaml:"custom"`
	Remove       []string         `yaml:"remove"`
	ServerTiming *ServerTiming    `yaml:"server_timing"`
}

// CORSPolicy is the CORS part of a response headers policy.
type CORSPolicy struct {
	AllowOrigins     []string `yaml:"allow_origins"` // ["*"] when unset
	AllowHeaders     []string `yaml:"allow_headers"`
	AllowMethods     []string `yaml:"allow_methods"` // GET, HEAD when unset; ALL for every method
	AllowCredentials bool     `yaml:"allow_credentials"`
	ExposeHeaders    []string `yaml:"expose_headers"`
	MaxAge           *TTL     `yaml:"max_age"`
	// OriginOverride makes the policy's headers win over the origin's.
	OriginOverride bool `yaml:"origin_override"`
	// AnswerPreflight answers OPTIONS preflight requests at the edge,
	// without asking the origin.
	AnswerPreflight bool `yaml:"answer_preflight"`
}

// SecurityHeaders are the security part of a response headers policy.
type SecurityHeaders struct {
	StrictTransportSecurity *HeaderSetting `yaml:"strict_transport_security"`
	ContentSecurityPolicy   *HeaderSetting `yaml:"content_security_policy"`
	ContentTypeOptions      *HeaderSetting `yaml:"content_type_options"`
	FrameOptions            *HeaderSetting `yaml:"frame_options"`
	ReferrerPolicy          *HeaderSetting `yaml:"referrer_policy"`
	XSSProtection           *HeaderSetting `yaml:"xss_protection"`
}

// HeaderSetting is a header's value and whether it replaces the origin's:
// written as the value alone (it replaces) or as {value, override}.
type HeaderSetting struct {
	Value    string `yaml:"value"`
	Override bool   `yaml:"override"`
}

// UnmarshalYAML reads either form.
func (h *HeaderSetting) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		h.Value, h.Override = n.Value, true
		return nil
	}
	type plain HeaderSetting
	p := plain{Override: true}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*h = HeaderSetting(p)
	return nil
}

// CustomHeader is a header a response headers policy adds.
type CustomHeader struct {
	Header   string `yaml:"header"`
	Value    string `yaml:"value"`
	Override *bool  `yaml:"override"` // true when unset
}

// ServerTiming adds CloudFront's Server-Timing header to a share of the
// answers.
type ServerTiming struct {
	Enabled      bool    `yaml:"enabled"`
	SamplingRate float64 `yaml:"sampling_rate"` // percent, 0 to 100
}

// Forward says which parts of the viewer request reach the origin. When a
// behavior has no forward block, every end-to-end header, cookie and query
// string is forwarded.
type Forward struct {
	Headers      List `yaml:"headers"`
	QueryStrings List `yaml:"query_strings"`
	Cookies      List `yaml:"cookies"`
}

// CacheKey says which parts of the request vary the cache key.
type CacheKey struct {
	Headers      List `yaml:"headers"`
	QueryStrings List `yaml:"query_strings"`
	Cookies      List `yaml:"cookies"`
}

// ErrorResponse replaces an error answer with a page, as CloudFront's custom
// error responses; on a behavior it may be limited to requests that accept
// a media type.
type ErrorResponse struct {
	ErrorCode          int    `yaml:"error_code"`
	WhenAccept         string `yaml:"when_accept"`
	ResponsePagePath   string `yaml:"response_page_path"`
	ResponseCode       int    `yaml:"response_code"`
	ErrorCachingMinTTL *TTL   `yaml:"error_caching_min_ttl"`
}

// Defaults CloudFront applies to a behavior's TTLs, in seconds.
const (
	DefaultMinTTL     = 0
	DefaultDefaultTTL = 86400
	DefaultMaxTTL     = 31536000
)

// TTLs returns the behavior's min, default and max TTL with CloudFront's
// defaults filled in; an unset default TTL is kept inside [min, max].
func (b *Behavior) TTLs() (min, def, max int64) {
	min, def, max = DefaultMinTTL, DefaultDefaultTTL, DefaultMaxTTL
	if b.MinTTL != nil {
		min = int64(*b.MinTTL)
	}
	if b.MaxTTL != nil {
		max = int64(*b.MaxTTL)
	}
	if b.DefaultTTL != nil {
		def = int64(*b.DefaultTTL)
	} else {
		def = clamp(def, min, max)
	}
	if b.MaxTTL == nil && max < def {
		max = def
	}
	return min, def, max
}

func clamp(v, lo, hi int64) int64 {
	if v > hi {
		v = hi
	}
	if v < lo {
		v = lo
	}
	return v
}

// Methods CloudFront lets a behavior allow.
var KnownMethods = []string{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
