package edge

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/edgefront/edgefront/internal/config"
)

// deployment is a distribution's continuous deployment policy: which of
// its viewers its staging distribution answers, as CloudFront's.
type deployment struct {
	staging *Distribution
	name    string // the staging distribution's
	// single_header: requests with header: value.
	header, value string
	// single_weight: a share of requests, kept on their side by a cookie
	// for idle after their last request, for at most maxAge.
	weight      float64
	idle, maxAt time.Duration
}

// deployCookie keeps a viewer on the side it was sent to: "s" (staging) or
// "p" (primary), and when its session began, as "s.1733011200".
const deployCookie = "edgefront-cd"

func compileDeployment(c *config.ContinuousDeployment) *deployment {
	if c == nil {
		return nil
	}
	cd := &deployment{name: c.StagingDistribution}
	if h := c.SingleHeader; h != nil {
		cd.header, cd.value = http.CanonicalHeaderKey(h.Header), h.Value
	}
	if w := c.SingleWeight; w != nil {
		cd.weight = w.Weight
		if s := w.SessionStickiness; s != nil {
			cd.idle, cd.maxAt = time.Duration(s.IdleTTL)*time.Second, time.Duration(s.MaximumTTL)*time.Second
		}
	}
	return cd
}

// toStaging reports whether the staging distribution answers r. With
// session stickiness it sets the cookie that keeps the viewer where it
// was sent.
func (cd *deployment) toStaging(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	if cd.header != "" {
		return r.Header.Get(cd.header) == cd.value
	}
	if cd.maxAt == 0 {
		return rand.Float64() < cd.weight
	}
	side, start, ok := readDeployCookie(r, now, cd.maxAt)
	if !ok {
		side, start = "p", now
		if rand.Float64() < cd.weight {
			side = "s"
		}
	}
	left := cd.maxAt - now.Sub(start)
	c := &http.Cookie{Name: deployCookie, Value: side + "." + strconv.FormatInt(start.Unix(), 10), Path: "/",
		MaxAge: int(min(cd.idle, left) / time.Second), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode}
	w.Header().Add("Set-Cookie", c.String())
	return side == "s"
}

// readDeployCookie reads the viewer's side and session start, when its
// session is still on.
func readDeployCookie(r *http.Request, now time.Time, maxAt time.Duration) (side string, start time.Time, ok bool) {
	c, err := r.Cookie(deployCookie)
	if err != nil {
		return "", time.Time{}, false
	}
	side, unix, found := strings.Cut(c.Value, ".")
	n, err := strconv.ParseInt(unix, 10, 64)
	if !found || err != nil || (side != "s" && side != "p") {
		return "", time.Time{}, false
	}
	start = time.Unix(n, 0)
	if age := now.Sub(start); age < 0 || age >= maxAt {
		return "", time.Time{}, false
	}
	return side, start, true
}

// describe is the policy, for explain.
func (cd *deployment) describe() string {
	if cd.header != "" {
		return fmt.Sprintf("requests with %s: %s go to staging distribution %s", cd.header, cd.value, cd.name)
	}
	s := fmt.Sprintf("%.4g%% of requests go to staging distribution %s", cd.weight*100, cd.name)
	if cd.maxAt > 0 {
		s += fmt.Sprintf(", each viewer kept on its side by the %s cookie for %s after its last request, %s at most", deployCookie, cd.idle, cd.maxAt)
	}
	return s
}
