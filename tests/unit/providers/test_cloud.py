"""Anthropic on AWS Bedrock and Vertex AI, through the SDK's own clients and the fake server
on the wire: Bedrock's SigV4-signed invoke-with-response-stream answered in AWS event-stream
frames, Vertex AI's streamRawPredict with a token from Google's OAuth endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from providers.base import (
    CallRecord,
    ChatRequest,
    Finished,
    ImagePart,
    TextDelta,
    ToolCallEvent,
    ToolSpec,
    UserMessage,
)
from providers.errors import AuthenticationError
from providers.router import Router
from providers.settings import BedrockSettings, ProvidersSettings, VertexSettings
from tests.fakes.llm_server import Call, LLMServer, Reply, Text

REQUEST = ChatRequest(
    model="",
    messages=(UserMessage("read a.py", (ImagePart("image/png", "iVBORw0KGgo="),)),),
    tools=(ToolSpec("read_file", "Read a file.", {"type": "object", "properties": {}}),),
    max_output_tokens=1000,
)
REPLY = Reply(
    [Text("Reading. "), Call("t1", "read_file", {"path": "a.py"})],
    usage={"input": 1000, "output": 50},
)


async def collect(router: Router, model: str) -> list[Any]:
    try:
        return [event async for event in router.stream(REQUEST, model=model)]
    finally:
        await router.aclose()


def check_events(events: list[Any]) -> CallRecord:
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Reading. "
    [call] = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert (call.name, dict(call.arguments)) == ("read_file", {"path": "a.py"})
    [finished] = [e for e in events if isinstance(e, Finished)]
    assert finished.reason == "tool_use" and finished.usage is not None
    assert finished.usage.input_tokens == 1000
    [record] = [e for e in events if isinstance(e, CallRecord)]
    return record


def anthropic_body(body: dict[str, Any]) -> None:
    """What Bedrock and Vertex AI receive is the Messages API body; the model is in the URL."""
    assert "model" not in body
    assert body["max_tokens"] == 1000
    assert body["tools"][0]["name"] == "read_file"
    image, text = body["messages"][0]["content"]
    assert image["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    assert text["text"] == "read a.py"


async def test_bedrock_streams_through_the_sdk_signed_with_the_aws_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    with LLMServer() as server:
        server.script(REPLY)
        router = Router(ProvidersSettings(bedrock=BedrockSettings(base_url=server.url)))
        assert router.key_problem(router.resolve("bedrock-claude-sonnet")) is None
        events = await collect(router, "bedrock-claude-sonnet")
        [sent] = server.requests
    record = check_events(events)
    assert record.provider == "bedrock" and record.cost_usd == pytest.approx(
        (1000 * 3.0 + 50 * 15.0) / 1e6
    )
    assert sent.path == (
        "/model/global.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"
    )
    authorization = sent.headers["authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLETEST/")
    assert "/eu-west-3/bedrock/aws4_request" in authorization
    assert "x-amz-date" in sent.headers
    assert sent.body["anthropic_version"]  # in the body, where Bedrock wants it
    assert "stream" not in sent.body  # the URL says so
    anthropic_body(sent.body)


async def test_bedrock_reads_a_profile_from_the_aws_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    aws = Path.home() / ".aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(
        "[team]\naws_access_key_id = AKIDPROFILETEST\naws_secret_access_key = s3cr3t\n"
    )
    (aws / "config").write_text("[profile team]\nregion = ap-south-1\n")
    with LLMServer() as server:
        server.script(Reply([Text("hi")]))
        settings = ProvidersSettings(bedrock=BedrockSettings(profile="team", base_url=server.url))
        router = Router(settings)
        events = await collect(router, "bedrock-claude-haiku")
        [sent] = server.requests
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["hi"]
    assert "Credential=AKIDPROFILETEST/" in sent.headers["authorization"]
    assert "/ap-south-1/bedrock/" in sent.headers["authorization"]
    assert "claude-haiku-4-5" in sent.path


async def test_bedrock_without_credentials_names_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    router = Router(ProvidersSettings(bedrock=BedrockSettings(base_url="http://127.0.0.1:9")))
    assert "AWS_PROFILE" in (router.key_problem(router.resolve("bedrock-claude-sonnet")) or "")
    with pytest.raises(AuthenticationError, match=r"no AWS credentials.*AWS_PROFILE"):
        await collect(router, "bedrock-claude-sonnet")


async def test_bedrock_refusal_names_the_aws_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with LLMServer() as server:
        server.script(Reply(status=403, error={"message": "not authorized"}))
        router = Router(
            ProvidersSettings(bedrock=BedrockSettings(base_url=server.url), max_retries=0)
        )
        with pytest.raises(AuthenticationError, match="AWS Bedrock refused the request"):
            await collect(router, "bedrock-claude-sonnet")
        [sent] = server.requests
    assert sent.headers["authorization"] == "Bearer bedrock-api-key-test"


def adc_file(tmp_path: Path, server: LLMServer) -> Path:
    """A service account key (made here) whose token endpoint is the fake server: the
    credentials sign a JWT and exchange it there for an access token, as on Google's."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "acme-ml",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "deputydev@acme-ml.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": server.url + "/token",
            }
        )
    )
    return path


async def test_vertex_streams_with_an_access_token_from_the_default_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with LLMServer() as server:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc_file(tmp_path, server)))
        server.script(REPLY)
        settings = ProvidersSettings(
            vertex=VertexSettings(project="acme-ml", region="europe-west1", base_url=server.url)
        )
        router = Router(settings)
        assert router.key_problem(router.resolve("vertex-claude-sonnet")) is None
        events = await collect(router, "vertex-claude-sonnet")
        token, sent = server.requests
    check_events(events)
    assert token.path == "/token"
    assert sent.path == (
        "/projects/acme-ml/locations/europe-west1/publishers/anthropic/models/"
        "claude-sonnet-4-5@20250929:streamRawPredict"
    )
    assert sent.headers["authorization"] == "Bearer ya29.fake-access-token"
    assert sent.body["anthropic_version"]
    anthropic_body(sent.body)


async def test_vertex_without_credentials_names_what_to_do(tmp_path: Path) -> None:
    router = Router(
        ProvidersSettings(vertex=VertexSettings(project="p", base_url="http://127.0.0.1:9"))
    )
    assert "gcloud auth" in (router.key_problem(router.resolve("vertex-claude-haiku")) or "")
    with pytest.raises(AuthenticationError, match="application-default login"):
        await collect(router, "vertex-claude-haiku")
