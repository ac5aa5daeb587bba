"""Nothing leaves the machine: indexing, retrieval and generation run with every non-loopback connection
attempt refused (and recorded) by a socket guard."""
from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys

import pytest

from conftest import DOC_B, ROOT, TEXT_B, index_settings, write_corpus
from rag.config import Settings


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS and the network


@pytest.fixture
def socket_guard(monkeypatch):
    """Record and refuse every connection to a non-loopback address; returns the list of attempts."""
    attempts: list = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def guarded_connect(self, address):
        if not _is_local(address):
            attempts.append(address)
            raise OSError(f"socket guard: connection to {address!r} refused in an offline test")
        return real_connect(self, address)

    def guarded_connect_ex(self, address):
        if not _is_local(address):
            attempts.append(address)
            raise OSError(f"socket guard: connection to {address!r} refused in an offline test")
        return real_connect_ex(self, address)

    def guarded_create_connection(address, *args, **kwargs):
        if not _is_local(address):
            attempts.append(address)
            raise OSError(f"socket guard: connection to {address!r} refused in an offline test")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)
    return attempts


def test_socket_guard_blocks_remote_and_allows_loopback(socket_guard):
    with pytest.raises(OSError, match="socket guard"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(OSError, match="socket guard"):
        s.connect(("10.1.2.3", 443))
    assert len(socket_guard) == 2
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:  # loopback still works
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    assert len(socket_guard) == 2


def test_importing_rag_turns_hub_access_off():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")}
    code = ("import os; before = os.environ.get('HF_HUB_OFFLINE'); import rag; "
            "print(before, os.environ['HF_HUB_OFFLINE'], os.environ['TRANSFORMERS_OFFLINE'], "
            "os.environ['HF_HUB_DISABLE_TELEMETRY'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "1", "1", "1"]


def test_index_search_and_generate_without_network(socket_guard, tmp_path):
    from rag.indexer import index_paths
    from rag.llm import get_llm
    from rag.retrieve import Retriever

    corpus = write_corpus(tmp_path / "corpus", {DOC_B: TEXT_B})
    settings = index_settings(tmp_path / "index", corpus)
    report = index_paths([corpus], settings, progress=False)
    assert report.added == [DOC_B] and report.embedded > 0
    hits = Retriever.load(settings).search("tỷ lệ tham gia bảo hiểm y tế", k=1)
    assert hits and "98,2%" in hits[0].text

    llm = get_llm(Settings.from_env(llm_model="qwen2.5-coder-0.5b", llm_backend="llama-cpp"), progress=False)
    text = "".join(llm.stream([{"role": "user", "content": "Xin chào! Trả lời một từ."}], max_tokens=8))
    assert text.strip()
    first = llm.usage
    "".join(llm.stream([{"role": "user", "content": "Xin chào! Trả lời hai từ."}], max_tokens=8))
    # the second prompt shares its head with the first: only the rest is processed again
    assert 0 < llm.usage.prompt_tokens < first.prompt_tokens and 0 < first.generated_tokens <= 8
    "".join(llm.stream([{"role": "user", "content": "Đếm từ 1 đến 50."}], max_tokens=4))
    assert llm.finish_reason == "length"  # cut at max_tokens: the assistant keeps only its finished sentences
    "".join(llm.stream([{"role": "user", "content": "Trả lời một từ: có hay không?"}], max_tokens=64))
    assert llm.finish_reason == "stop"
    text = "".join(llm.stream([{"role": "user", "content": 'Repeat "[n] " 50 times.'}], max_tokens=200))
    assert llm.finish_reason == "repetition" and llm.usage.generated_tokens < 30, (text, llm.usage)
    "".join(llm.stream([{"role": "user", "content": "Trả lời một từ: có hay không?"}], max_tokens=64))
    assert llm.finish_reason == "stop"  # a stream closed in a loop leaves llama.cpp ready for the next
    assert socket_guard == [], f"network connections attempted: {socket_guard}"
