# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests of the kchan Python binding. Most need /dev/chan (run them in the
VM: selftests/python_test.sh); test_uapi runs anywhere."""

import os
import sys

import pytest

# The package under test: the tree's (bindings/python), or the installed
# one when KCHAN_PY_INSTALLED=1 (selftests/python_test.sh after make install).
if os.environ.get("KCHAN_PY_INSTALLED") != "1":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

needs_dev = pytest.mark.skipif(not os.path.exists("/dev/chan"),
                               reason="no /dev/chan (run in the VM)")


def wait_child(pid):
    """The exit status of a forked child; 0 when it succeeded."""
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


def fork(fn):
    """Run fn() in a forked child process; its exit status is 0 when fn
    returns, 1 when it raises (the traceback goes to stderr)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid
