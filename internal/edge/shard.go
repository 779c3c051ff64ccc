package edge

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"time"

	"github.com/edgefront/edgefront/internal/cache"
)

// Shards places each object on one node of a cluster (cluster.Node).
type Shards interface {
	// Owner is the node that fetches key from its origin: its address,
	// and whether it is another node.
	Owner(key string) (addr string, remote bool)
}

// Node-to-node requests carry the cluster token in NodeHeader, and the
// viewer's address in viewerHeader. A request that carries NodeHeader
// without the token is refused with 403, marked with refusedHeader so
// that a node with another token goes to the origin instead; both fields
// are dropped before anything else sees a request.
const (
	NodeHeader    = "X-Edgefront-Cluster"
	viewerHeader  = "X-Edgefront-Viewer"
	refusedHeader = "X-Edgefront-Cluster-Refused"
	// distHeader names the distribution the asking node chose (a
	// staging one, say), so that the owner answers from the same.
	distHeader = "X-Edgefront-Distribution"
)

// errTokenRefused is an owner's refusal of this node's token.
var errTokenRefused = errors.New("the owner refused this node's cluster token: are both nodes' cluster.token_file the same?")

// Timing of a request to an object's owner: an owner that does not take
// the connection, or does not answer within shardWait, is passed over
// and the node asks the origin itself.
var (
	shardDial = 250 * time.Millisecond
	shardWait = 5 * time.Second
)

// peering is what a node of a cluster does with the others: it knows
// their requests by the token, and with shards asks an object's owner
// for it before the origin.
type peering struct {
	token  string
	shards Shards // nil without shard
	proxy  *httputil.ReverseProxy
}

func newPeering(token string, shards Shards) *peering {
	if token == "" {
		return nil
	}
	p := &peering{token: token, shards: shards}
	if shards != nil {
		p.proxy = &httputil.ReverseProxy{
			Rewrite: p.rewrite,
			Transport: &http.Transport{
				DialContext:           (&net.Dialer{Timeout: shardDial}).DialContext,
				ResponseHeaderTimeout: shardWait,
				MaxIdleConnsPerHost:   64,
				IdleConnTimeout:       90 * time.Second,
				DisableCompression:    true,
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				exchangeOf(r).shardErr = err
			},
			ModifyResponse: func(resp *http.Response) error {
				if resp.Header.Get(refusedHeader) != "" {
					return errTokenRefused
				}
				return nil
			},
			BufferPool: bufferPool{},
		}
	}
	return p
}

// rewrite sends a fill's request to the object's owner as the viewer
// made it (the owner computes the same key), marked as a node's.
func (p *peering) rewrite(pr *httputil.ProxyRequest) {
	ex := exchangeOf(pr.In)
	pr.Out.URL.Scheme, pr.Out.URL.Host = "http", ex.shardTo
	pr.Out.Host = pr.In.Host
	p.mark(pr.Out.Header, ex)
}

// mark makes h a node's request for ex: the token, the viewer, and the
// distribution that answers it here.
func (p *peering) mark(h http.Header, ex *exchange) {
	h[NodeHeader] = []string{p.token}
	if ex.client.IsValid() {
		h[viewerHeader] = []string{ex.client.String()}
	}
	if ex.dist != nil {
		h[distHeader] = []string{ex.dist.Name}
	}
}

// distributionOf is the distribution a node's request names, when r is
// one; the fields stay for fromNode.
func (p *peering) distributionOf(r *http.Request, rt *Router) *Distribution {
	if p == nil || !p.carriesToken(r.Header[NodeHeader]) {
		return nil
	}
	name := r.Header.Get(distHeader)
	delete(r.Header, distHeader)
	return rt.Distribution(name)
}

// fromNode says whether r comes from another node of the cluster, and
// drops the fields that say so: node is true for a node's request, and
// refused for one that claims to be and has not the token. A node's
// request names its viewer, who becomes r's client.
func (p *peering) fromNode(r *http.Request) (viewer netip.Addr, node, refused bool) {
	tok, has := r.Header[NodeHeader]
	if !has {
		return netip.Addr{}, false, false
	}
	v := r.Header.Get(viewerHeader)
	delete(r.Header, NodeHeader)
	delete(r.Header, viewerHeader)
	delete(r.Header, distHeader)
	if p == nil || !p.carriesToken(tok) {
		return netip.Addr{}, false, true
	}
	viewer, _ = netip.ParseAddr(v)
	return viewer, true, false
}

// carriesToken reports whether a NodeHeader's values are the cluster
// token, compared in constant time.
func (p *peering) carriesToken(tok []string) bool {
	return len(tok) == 1 && subtle.ConstantTimeCompare([]byte(tok[0]), []byte(p.token)) == 1
}

// fillFromOwner asks the owner of f's object for it, when another node
// owns it. It reports whether the owner answered; when it did not, the
// fill goes to the origin.
func (b *Behavior) fillFromOwner(f *cache.Fill, req *http.Request, ex *exchange, fw *fillWriter) (answered bool, err error) {
	p := b.dist.rt.peers
	if p == nil || p.shards == nil || ex.node {
		return false, nil
	}
	addr, remote := p.shards.Owner(f.Primary.String())
	if !remote {
		return false, nil
	}
	fex := &exchange{in: req, w: fw, id: ex.id, accept: ex.accept, behavior: b, fill: fw, client: ex.client, shardTo: addr, dist: b.dist}
	err = runProxy(p.proxy, fw, req.WithContext(withExchange(req.Context(), fex)))
	if !fw.started {
		b.dist.log.Debug("object owner did not answer; asking the origin", "owner", addr, "key", f.Key, "err", fex.shardErr)
		return false, nil
	}
	return true, err
}
