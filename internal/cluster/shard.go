package cluster

import (
	"hash/fnv"
)

// Owner is the member that fetches key from its origin for the cluster,
// by rendezvous hashing over the live members that advertise an address:
// each member's weight for the key is a hash of the two, and the
// heaviest owns it. A member joining or leaving moves only the keys it
// wins or held. It returns the owner's address, and whether it is
// another node; a node that sees no member but itself owns everything.
func (n *Node) Owner(key string) (addr string, remote bool) {
	n.mu.Lock()
	members := n.members
	n.mu.Unlock()
	name, addr := ownerOf(members, key)
	if name == "" || name == n.opts.Node {
		return "", false
	}
	return addr, true
}

// ownerOf is the rendezvous choice among members for key.
func ownerOf(members []Member, key string) (name, addr string) {
	var best uint64
	for _, m := range members {
		if m.Advertise == "" {
			continue
		}
		if w := weight(m.Name, key); name == "" || w > best || (w == best && m.Name < name) {
			best, name, addr = w, m.Name, m.Advertise
		}
	}
	return name, addr
}

// weight is FNV-1a of member and key, finished by splitmix64's mixer so
// that close inputs weigh unrelated amounts.
func weight(member, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
