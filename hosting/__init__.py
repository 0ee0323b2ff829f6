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

httpx is the only HTTP stack: it is already a dependency, async, and costs ~60-80 ms to
import; the SDKs weighed against it are measured in ``bench/hosting.py``.
"""
