"""The Gemini webhooks emulator for this test session.

In CI with the emulator as a service container (see .github/workflows/webhook-tests.yml), the job's
environment already names it: GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY. Everywhere else the
fixture starts the image with Testcontainers and points Google's SDK at it the same way, so the
tests run `genai.Client()` at its defaults in both places.
"""
import os
import time
import urllib.request

import pytest

IMAGE = os.environ.get("GEMINI_EMULATOR_IMAGE", "ghcr.io/gemini-webhooks/gemini-webhooks-emulator:0.4.0")


class Emulator:
    def __init__(self, base_url, api_key):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

    def admin(self, method, path, body=None):
        """The emulator's admin API (/emulator/v1/...): trigger events, read deliveries."""
        import json

        request = urllib.request.Request(
            f"{self.base_url}/emulator/v1{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"x-goog-api-key": self.api_key, "content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


def _healthy(container, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        status = wrapped.attrs["State"].get("Health", {}).get("Status")
        if status == "healthy":
            return
        if wrapped.status == "exited":
            raise RuntimeError("the emulator container exited:\n" + wrapped.logs().decode(errors="replace"))
        time.sleep(0.2)
    raise TimeoutError(f"the emulator container was not healthy within {timeout} s")


@pytest.fixture(scope="session")
def emulator():
    if os.environ.get("GOOGLE_GEMINI_BASE_URL"):  # a CI service container already runs it
        yield Emulator(os.environ["GOOGLE_GEMINI_BASE_URL"], os.environ["GEMINI_API_KEY"])
        return

    from testcontainers.core.container import DockerContainer
    from testcontainers.core.docker_client import DockerClient

    api_key = "local-test-key"
    container = (
        DockerContainer(IMAGE)
        .with_exposed_ports(8089)
        .with_env("GEMINI_EMULATOR_API_KEY", api_key)
        # Deliveries to receivers this test runs on the Docker host.
        .with_env("GEMINI_EMULATOR_ALLOW_DELIVERY_HOSTS", "host.docker.internal")
        .with_kwargs(extra_hosts={"host.docker.internal": "host-gateway"})
    )
    # The name this process reaches the published port by, when it is not loopback (a remote DOCKER_HOST).
    host = DockerClient().host()
    if host not in ("localhost", "127.0.0.1"):
        container.with_env("GEMINI_EMULATOR_ALLOW_HOSTS", host)
    with container:
        _healthy(container)
        base_url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(8089)}"
        os.environ["GOOGLE_GEMINI_BASE_URL"] = base_url
        os.environ["GEMINI_API_KEY"] = api_key
        try:
            yield Emulator(base_url, api_key)
        finally:
            del os.environ["GOOGLE_GEMINI_BASE_URL"], os.environ["GEMINI_API_KEY"]
