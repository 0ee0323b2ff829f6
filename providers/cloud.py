"""Anthropic's models through the clouds: AWS Bedrock and Google Vertex AI.

Both use the Anthropic SDK's own clients (``AsyncAnthropicBedrock``, ``AsyncAnthropicVertex``)
and speak the Messages API, so :class:`BedrockProvider` and :class:`VertexProvider` are the
Anthropic provider with another client: the request body, the events and the errors are
the same (``providers.anthropic``); only credentials and the URL differ.

- **Bedrock** signs each request with SigV4 from the standard AWS chain (``region``,
  ``profile`` or keys in ``[providers.bedrock]``, else AWS_REGION / AWS_DEFAULT_REGION,
  AWS_PROFILE, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, ~/.aws/config and credentials,
  SSO, instance roles: botocore resolves them), or sends a Bedrock API key
  (AWS_BEARER_TOKEN_BEDROCK). It streams ``/model/{id}/invoke-with-response-stream`` as AWS
  event-stream frames, which the SDK decodes with botocore. Model ids are Bedrock's
  (``global.anthropic.claude-sonnet-4-5-20250929-v1:0``). Bedrock counts no tokens, so
  limits use the estimate.
- **Vertex AI** authenticates with Google's Application Default Credentials and streams
  ``.../publishers/anthropic/models/{id}:streamRawPredict``; model ids are Vertex's
  (``claude-sonnet-4-5@20250929``).

boto3/botocore (the ``bedrock`` need) and google-auth are imported on the first call only.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from providers.anthropic import AnthropicProvider
from providers.base import ChatRequest, Event
from providers.errors import (
    AuthenticationError,
    BadRequest,
    ProviderError,
    ProviderUnavailable,
)
from providers.settings import BedrockSettings, ConnectionSettings, VertexSettings

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

AWS_KEY_VARS = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_BEARER_TOKEN_BEDROCK")
AWS_HINT = (
    "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
    "AWS_BEARER_TOKEN_BEDROCK, or profile / access_key_id under [providers.bedrock]"
)
GOOGLE_HINT = (
    "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to "
    "a service account's key file"
)


def bedrock_source(settings: BedrockSettings) -> str | None:
    """Where Bedrock's credentials come from (never the credentials), or None."""
    if settings.api_key is not None or settings.access_key_id is not None:
        return "config"
    if settings.profile:
        return f"profile:{settings.profile}"
    for name in AWS_KEY_VARS:
        if os.environ.get(name):
            return f"env:{name}"
    for variable, default in (
        ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        ("AWS_CONFIG_FILE", "~/.aws/config"),
    ):
        path = Path(os.environ.get(variable) or default).expanduser()
        if path.is_file():
            return f"file:{path}"
    return None


def vertex_source(settings: VertexSettings) -> str | None:
    """Where Vertex AI's credentials come from, or None when none is found here."""
    adc = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if adc:
        return "env:GOOGLE_APPLICATION_CREDENTIALS"
    config = os.environ.get("CLOUDSDK_CONFIG") or "~/.config/gcloud"
    if (Path(config).expanduser() / "application_default_credentials.json").is_file():
        return "gcloud"
    return None


class _CloudProvider(AnthropicProvider):
    """The Anthropic provider with a cloud's client. The client is made off the event loop
    (credential files, and botocore's ~0.3 s import); ``refused`` words a 401/403 for the
    cloud, and ``translate`` turns its credential failures, which happen while a request is
    signed and so outside the SDK's errors, into ours."""

    key_env_vars: tuple[str, ...] = ()

    def __init__(self, settings: BedrockSettings | VertexSettings) -> None:
        super().__init__(
            ConnectionSettings(
                timeout_s=settings.timeout_s, connect_timeout_s=settings.connect_timeout_s
            )
        )

    def refused(self, request: ChatRequest, status: object) -> str:
        raise NotImplementedError

    def translate(self, exc: Exception) -> ProviderError | None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        if self._client is None:
            self._client = await asyncio.to_thread(self._new_client)
        try:
            async for event in super().stream(request):
                yield event
        except AuthenticationError as exc:
            status = exc.data.get("status")
            raise AuthenticationError(
                self.refused(request, status),
                provider=self.name,
                status=status,
                envVar=self.key_env_vars[0] if self.key_env_vars else None,
            ) from exc
        except ProviderError:
            raise
        except Exception as exc:
            translated = self.translate(exc)
            if translated is None:
                raise
            raise translated from exc


class BedrockProvider(_CloudProvider):
    name = "bedrock"
    key_env_vars = AWS_KEY_VARS

    def __init__(self, settings: BedrockSettings) -> None:
        super().__init__(settings)
        self.settings = settings

    def _new_client(self) -> AsyncAnthropic:
        import httpx2
        from anthropic import AsyncAnthropicBedrock

        s = self.settings

        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        api_key = secret(s.api_key) or os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
        if api_key is None:
            self._check_credentials()
        try:
            client: AsyncAnthropic = AsyncAnthropicBedrock(  # type: ignore[assignment]
                aws_region=s.region,
                aws_profile=s.profile if api_key is None else None,
                aws_access_key=secret(s.access_key_id),
                aws_secret_key=secret(s.secret_access_key),
                aws_session_token=secret(s.session_token),
                api_key=api_key,
                base_url=s.base_url,
                max_retries=0,
                timeout=httpx2.Timeout(s.timeout_s, connect=s.connect_timeout_s),
            )
        except ValueError as exc:
            raise AuthenticationError(
                f"AWS Bedrock: {exc} (set AWS_REGION, or region under [providers.bedrock])",
                provider=self.name,
                envVar="AWS_REGION",
                configKey="providers.bedrock.region",
            ) from None
        return client

    def _check_credentials(self) -> None:
        """Fail with the variables to set when the AWS chain finds no credentials."""
        import boto3
        import botocore.exceptions

        s = self.settings
        try:
            session = boto3.Session(
                profile_name=s.profile,
                aws_access_key_id=(s.access_key_id.get_secret_value() if s.access_key_id else None),
                aws_secret_access_key=(
                    s.secret_access_key.get_secret_value() if s.secret_access_key else None
                ),
                aws_session_token=s.session_token.get_secret_value() if s.session_token else None,
            )
            credentials = session.get_credentials()
        except botocore.exceptions.BotoCoreError as exc:
            raise AuthenticationError(
                f"AWS Bedrock: {exc}; {AWS_HINT}", provider=self.name, envVar="AWS_PROFILE"
            ) from None
        if credentials is None:
            raise AuthenticationError(
                f"AWS Bedrock: no AWS credentials were found; {AWS_HINT}",
                provider=self.name,
                envVar="AWS_PROFILE",
                configKey="providers.bedrock.profile",
            )

    def refused(self, request: ChatRequest, status: object) -> str:
        return (
            f"AWS Bedrock refused the request ({status}): check the credentials ({AWS_HINT}), "
            "that they allow bedrock:InvokeModelWithResponseStream, and that "
            f"{request.model} is enabled in the region"
        )

    def translate(self, exc: Exception) -> ProviderError | None:
        if isinstance(exc, RuntimeError):  # the SDK's signer found no credentials mid-way
            return AuthenticationError(f"AWS Bedrock: {exc}; {AWS_HINT}", provider=self.name)
        return None

    async def count_tokens(self, request: ChatRequest) -> int:
        raise BadRequest("AWS Bedrock has no token counting endpoint", provider=self.name)


class VertexProvider(_CloudProvider):
    name = "vertex"
    key_env_vars = ("GOOGLE_APPLICATION_CREDENTIALS",)

    def __init__(self, settings: VertexSettings) -> None:
        super().__init__(settings)
        self.settings = settings

    def _new_client(self) -> AsyncAnthropic:
        import httpx2
        from anthropic import AsyncAnthropicVertex
        from anthropic._types import not_given

        s = self.settings
        project = s.project or os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID")
        client: AsyncAnthropic = AsyncAnthropicVertex(  # type: ignore[assignment]
            region=s.region or os.environ.get("CLOUD_ML_REGION") or "global",
            project_id=project if project else not_given,
            base_url=s.base_url,
            max_retries=0,
            timeout=httpx2.Timeout(s.timeout_s, connect=s.connect_timeout_s),
        )
        return client

    def refused(self, request: ChatRequest, status: object) -> str:
        return (
            f"Vertex AI refused the request ({status}): check the credentials ({GOOGLE_HINT}), "
            "that the project has Vertex AI enabled and that the model is enabled in its "
            "Model Garden"
        )

    def translate(self, exc: Exception) -> ProviderError | None:
        return _google_auth_error(exc, self.name)

    async def count_tokens(self, request: ChatRequest) -> int:
        try:
            return await super().count_tokens(request)
        except ProviderError:
            raise
        except Exception as exc:
            raise _google_auth_error(exc, self.name) from exc


def _google_auth_error(exc: Exception, provider: str) -> ProviderError:
    """Google's credential failures (raised while signing, outside the SDK's errors) as ours."""
    module = type(exc).__module__
    if module.startswith("google.auth") or "project_id" in str(exc):
        return AuthenticationError(
            f"Vertex AI: {type(exc).__name__}: {exc}; {GOOGLE_HINT}, and set "
            "ANTHROPIC_VERTEX_PROJECT_ID or project under [providers.vertex]",
            provider=provider,
            envVar="GOOGLE_APPLICATION_CREDENTIALS",
            configKey="providers.vertex.project",
        )
    return ProviderUnavailable(f"Vertex AI: {type(exc).__name__}: {exc}", provider=provider)
