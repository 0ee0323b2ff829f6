"""The workspace's own repository on its host, read from ``.git/config`` as plain text.

A repository's git settings may be written by an attacker, so nothing here runs git (whose
config can name programs: ``core.fsmonitor``, ``core.sshCommand``...) or follows includes:
the config file is read as text (size-capped), the remote URLs are taken as data, and only
a URL on a host we already know counts. ``origin`` is preferred, then ``upstream``, then the
first remote. Worktrees and submodules (``.git`` as a file naming the git dir) are followed
to their config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hosting.hosts import Host, Hosts, normalise_web
from hosting.urls import split_repo

MAX_CONFIG_BYTES = 256 * 1024
_SECTION = re.compile(r'^\s*\[\s*remote\s+"(?P<name>[^"]*)"\s*\]\s*$', re.IGNORECASE)
_OTHER_SECTION = re.compile(r"^\s*\[")
_URL = re.compile(r"^\s*url\s*=\s*(?P<url>.+?)\s*$", re.IGNORECASE)
_SCP = re.compile(r"^(?:[\w.+-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")


@dataclass(frozen=True, slots=True)
class Remote:
    host: Host
    repo: str  # owner/name, group/sub/project, workspace/repo


def git_config(root: Path) -> Path | None:
    """The config file of the repository holding ``root`` (walking up), without running git."""
    for folder in [root, *root.parents]:
        dot_git = folder / ".git"
        try:
            if dot_git.is_dir():
                return dot_git / "config"
            if dot_git.is_file():
                text = dot_git.read_text(encoding="utf-8", errors="replace")[:4096]
                match = re.match(r"gitdir:\s*(.+)", text.strip())
                if not match:
                    return None
                gitdir = (folder / match.group(1).strip()).resolve()
                common = gitdir / "commondir"  # a worktree's config lives in the main repo
                if common.is_file():
                    gitdir = (gitdir / common.read_text().strip()).resolve()
                return gitdir / "config"
        except OSError:
            return None
    return None


def remote_urls(config_text: str) -> list[tuple[str, str]]:
    """(remote name, url) pairs in file order."""
    found: list[tuple[str, str]] = []
    current: str | None = None
    for line in config_text.splitlines():
        section = _SECTION.match(line)
        if section:
            current = section.group("name")
            continue
        if _OTHER_SECTION.match(line):
            current = None
            continue
        url = _URL.match(line)
        if current is not None and url:
            value = url.group("url").strip().strip('"')
            found.append((current, value))
    return found


# SSH over port 443, for networks that block 22: the same hosts on the web.
_SSH_ALIASES = {
    "ssh.github.com": "github.com",
    "altssh.gitlab.com": "gitlab.com",
    "altssh.bitbucket.org": "bitbucket.org",
}


def web_of(url: str) -> tuple[str, str] | None:
    """(``https://host``, ``owner/name``) of a clone URL (https, ssh, scp-like)."""
    url = url.strip()
    if "://" in url:
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError:
            return None
        if not hostname or parts.scheme not in ("https", "http", "ssh", "git"):
            return None
        path = parts.path
    else:
        match = _SCP.match(url)
        if not match:
            return None
        hostname, path = match.group("host"), match.group("path")
    split = split_repo(path)
    if split is None:
        return None
    hostname = _SSH_ALIASES.get(hostname.lower(), hostname.lower())
    return f"https://{hostname}", "/".join(split)


def find_remote(roots: list[Path], hosts: Hosts) -> Remote | None:
    for root in roots:
        config = git_config(root)
        if config is None:
            continue
        try:
            with config.open("rb") as handle:
                text = handle.read(MAX_CONFIG_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        pairs = remote_urls(text)
        order = {"origin": 0, "upstream": 1}
        for _, url in sorted(pairs, key=lambda p: order.get(p[0], 2)):
            found = web_of(url)
            if found is None:
                continue
            web, repo = found
            for host in hosts.hosts:
                if host.kind in ("jira", "confluence"):
                    continue
                host_name = urlsplit(host.web).hostname
                if host_name == urlsplit(web).hostname and normalise_web(host.web):
                    # A self-hosted instance under a context path keeps it in the clone URL.
                    prefix = urlsplit(host.web).path.strip("/")
                    if prefix and repo.startswith(prefix + "/"):
                        repo = repo[len(prefix) + 1 :]
                    return Remote(host, repo)
    return None
