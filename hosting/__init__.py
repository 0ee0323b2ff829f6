"""Source hosting, issue trackers and wikis, read with the developer's own credentials.

This package turns a link the user pasted or the model met into something the model can
read, and answers the agent's searches, by calling each host's REST API directly from the
developer's machine: GitHub (and GitHub Enterprise), GitLab (gitlab.com and self-hosted),
Bitbucket Cloud, Jira (Cloud and Data Center) and Confluence (Cloud and Data Center).

It knows nothing of LSP, of the daemon or of the model providers (the daemon passes in the
settings, the environment and the cache folder), so a later feature that writes to a host
(posting review comments) reuses the same clients. Layout:

    settings.py   the ``[hosting]`` section (owned here, nested in the daemon's tree)
    hosts.py      which hosts exist, their API base URLs and credentials (config, then env)
    urls.py       a link -> :class:`~hosting.urls.ItemRef`, recognised from the link alone
    http.py       one httpx client per host: auth, ETag cache, pagination, errors, rate limits
    cache.py      the on-disk ETag cache
    errors.py     the error tree (what the user can do about each)
    github.py gitlab.py bitbucket.py jira.py confluence.py   one small client per API
    models.py     the typed work items those clients return
    markdown.py   work items -> Markdown for the model (diffs capped per file)
    adf.py        Atlassian Document Format -> Markdown
    storage.py    Confluence storage format (XHTML) -> Markdown
    remote.py     the workspace's own remote, read from .git/config as untrusted text
    service.py    :class:`~hosting.service.Hosting`, the one object the daemon holds

httpx is the only HTTP stack, by measurement (``bench/hosting.py``, fresh interpreters,
pydantic preloaded, median of 9): httpx with this package adds ~176 ms to the first query
(import 108 ms, TLS context 65 ms), githubkit ~199 ms for GitHub alone (and its import broke
with hishel 2.0, which it does not bound), python-gitlab ~92 ms and atlassian-python-api
~188 ms, both synchronous on requests (threads for every call) and before their TLS set-up.
One async client for five APIs costs less than any two of those.
"""
