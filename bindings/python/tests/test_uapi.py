# SPDX-License-Identifier: LGPL-2.1-or-later
"""The binding's constants and struct layouts are the header's: kchan/_uapi.py
is what gen_uapi.py makes of uapi/linux/chan.h now, so a UAPI change that was
not regenerated fails here."""

import hashlib
import importlib.util
import os
import re

import kchan

here = os.path.dirname(os.path.abspath(__file__))
pydir = os.path.dirname(here)
header = os.path.join(pydir, "..", "..", "uapi", "linux", "chan.h")


def load_gen():
    spec = importlib.util.spec_from_file_location(
        "gen_uapi", os.path.join(pydir, "gen_uapi.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_from_this_header():
    with open(header, "rb") as f:
        assert kchan._u.HEADER_SHA256 == hashlib.sha256(f.read()).hexdigest(), \
            "kchan/_uapi.py is stale: rebuild (make -C bindings)"


def test_regenerated_is_identical():
    with open(kchan._u.__file__) as f:
        assert load_gen().generate(header) == f.read()


def test_every_macro_exported():
    with open(header) as f:
        names = set(re.findall(r"^#define\s+(CHAN_\w+)\s+\S", f.read(), re.M))
    assert names
    missing = [n for n in names if not hasattr(kchan, n)]
    assert not missing


def test_every_struct_has_its_size():
    # Each struct's ctypes size equals the C compiler's (checked at
    # generation), and is at least its _SIZE_VER0.
    for s in kchan._u.STRUCTS:
        ver0 = getattr(kchan, "CHAN_%s_SIZE_VER0" % s[5:].upper(), None)
        if ver0 is not None:
            assert kchan._u.ctypes.sizeof(getattr(kchan._u, s)) >= ver0, s


def test_ioctl_numbers():
    # _IOWR(0xC7, 0x10, struct chan_msg): the size is encoded in the number.
    size = kchan._u.ctypes.sizeof(kchan._u.chan_msg)
    assert kchan.CHAN_IOC_SEND == (3 << 30) | (size << 16) | (0xC7 << 8) | 0x10
    assert kchan.CHAN_CLOEXEC == os.O_CLOEXEC
    assert kchan.CHAN_NONBLOCK == os.O_NONBLOCK
