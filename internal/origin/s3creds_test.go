package origin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgefront/edgefront/internal/config"
)

// noCredentials leaves the AWS default chain nothing to find, with the
// instance metadata service, should the SDK ask it, on a loopback
// listener that counts the requests it gets.
func noCredentials(t *testing.T) *atomic.Int32 {
	var asked atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "no role here", http.StatusNotFound)
	}))
	t.Cleanup(imds.Close)
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_DISABLED"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "none"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "none"))
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	return &asked
}

// An s3 origin without keys on a machine without AWS credentials never
// asks the instance metadata service: start-up says so in one sentence,
// and a request fails at once instead of waiting for that address.
func TestS3WithoutCredentialsNeverProbesInstanceMetadata(t *testing.T) {
	asked := noCredentials(t)
	start := time.Now()
	o, err := NewS3("storage", config.Origin{Type: "s3", Bucket: "private-data", Region: "us-east-1", Endpoint: "http://127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := o.Warning(); !strings.Contains(w, `origin "storage": no AWS credentials for bucket "private-data"`) || !strings.Contains(w, "credentials: instance") {
		t.Errorf("warning %q", w)
	}
	out, _ := http.NewRequest("GET", "http://edge/a.csv", nil)
	o.Prepare(out)
	_, err = o.RoundTrip(out)
	if !errors.Is(err, ErrOriginConfig) {
		t.Errorf("request without credentials: %v, want an origin config error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("start-up and one request took %v", d)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the instance metadata service was asked %d times", n)
	}
}

// credentials: instance is how a config asks for the EC2 instance role:
// then, and only then, the metadata service is asked.
func TestS3CredentialsInstanceAsksInstanceMetadata(t *testing.T) {
	asked := noCredentials(t)
	o, err := NewS3("storage", config.Origin{Type: "s3", Bucket: "private-data", Credentials: "instance", Endpoint: "http://127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if asked.Load() == 0 {
		t.Error("credentials: instance did not ask the instance metadata service")
	}
	if o.Warning() == "" {
		t.Error("no warning, though the metadata service had no role")
	}
}
