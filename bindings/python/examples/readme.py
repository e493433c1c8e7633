# SPDX-License-Identifier: LGPL-2.1-or-later
# README.md's example ("Use it from Python"), run by selftests/python_test.sh.

import os
import kchan

r, w = kchan.pipe(fmt="q")            # unbuffered channel of int64: r recv, w send
if os.fork() == 0:
    r.release()
    for v in (1, 2, 3):
        w.send(v)
    os._exit(0)                       # the last sender is gone: closed
w.release()
for v in r:                           # receives until closed
    print("got", v)
os.wait()
