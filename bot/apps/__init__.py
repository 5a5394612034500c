"""The servers people and Rasa talk to, besides Rasa itself: the staff web app (`staff`), the public
website (`web`) and the action server behind its shared secret (`action_server`)."""


def url_host(host: str) -> str:
    """`host` as it stands in a URL: an IPv6 address in brackets (the servers' start-up lines)."""
    return f"[{host}]" if ":" in host else host
