"""The end user's IP address behind trusted proxies. Pure: no Django, no boto3."""

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDRs (or bare addresses); raise ValueError naming a bad entry."""
    networks: list[Network] = []
    for raw in cidrs:
        text = raw.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP network: {text!r}") from exc
    return tuple(networks)


def parse_ip(text: str) -> IPAddress | None:
    """An address from a header hop: tolerates ports and brackets, maps IPv4-in-IPv6."""
    value = text.strip().strip('"')
    if not value or len(value) > 64:
        return None
    if value.startswith("["):  # [2001:db8::1]:443
        end = value.find("]")
        if end == -1:
            return None
        value = value[1:end]
    elif value.count(":") == 1:  # 203.0.113.7:5555
        value = value.split(":", 1)[0]
    value = value.split("%", 1)[0]  # zone ids are meaningless off-host
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def is_trusted_peer(remote_addr: str, trusted: Sequence[Network]) -> bool:
    """Whether the TCP peer is one of the trusted proxies."""
    address = parse_ip(remote_addr)
    return address is not None and _trusted(address, trusted)


def client_ip(
    *, remote_addr: str, forwarded_for: str | None, trusted: Sequence[Network]
) -> str | None:
    """The right-most address in the chain that is not a trusted proxy.

    The chain is X-Forwarded-For's hops followed by the peer (REMOTE_ADDR). A
    header is believed only as far as every hop to its right is trusted: a peer
    that is not a trusted proxy is the client, whatever it claims. A malformed
    hop ends the walk at the last good address, so a forged value can never be
    passed on. Returns None only if REMOTE_ADDR itself is unusable.
    """
    peer = parse_ip(remote_addr)
    if peer is None:
        return None
    current = peer
    if trusted and forwarded_for and _trusted(peer, trusted):
        hops = list(forwarded_for.split(","))
        for hop in reversed(hops):
            address = parse_ip(hop)
            if address is None:
                break
            current = address
            if not _trusted(address, trusted):
                break
    return str(current)
