package httpout

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// blockedReason says why a receiver at ip is refused unless its owner
// allows private targets, or "" when it is a public address. Link-local
// covers the clouds' metadata service (169.254.169.254); private covers
// RFC 1918 and IPv6 unique local addresses (fd00:ec2::254 among them).
func blockedReason(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address (cloud metadata lives there)"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip.IsPrivate():
		return "a private address"
	case ownAddress(ip):
		return "one of this box's own addresses"
	}
	return ""
}

// ownAddress reports whether ip is on one of the box's interfaces. Read at
// every check: addresses come and go with DHCP and VPNs.
func ownAddress(ip netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if own, ok := netip.AddrFromSlice(n.IP); ok && own.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// CheckURL is the rule at save: the URL is http or https with a host, and
// unless allowPrivate every address its host resolves to is public.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must start with https:// or http://")
	}
	if u.Hostname() == "" {
		return fmt.Errorf("has no host")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry a user name or password")
	}
	if allowPrivate {
		return nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil {
		return fmt.Errorf("host %s does not resolve: %v", u.Hostname(), err)
	}
	for _, ip := range ips {
		if why := blockedReason(ip); why != "" {
			return fmt.Errorf("host %s resolves to %s (%s): allow private targets to use it", u.Hostname(), ip, why)
		}
	}
	return nil
}

// dialControl refuses, at every connection, an address that CheckURL
// would have refused: a name can resolve elsewhere after it was saved (DNS
// rebinding), so the check at save is not enough.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("httpout: dial %s: %w", address, err)
	}
	if why := blockedReason(ap.Addr()); why != "" {
		return fmt.Errorf("httpout: refused to connect to %s: %s (the target does not allow private addresses)", ap.Addr(), why)
	}
	return nil
}
