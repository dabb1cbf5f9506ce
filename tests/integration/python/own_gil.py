# CPython 3.12+: a subinterpreter with its own GIL (PEP 684) run by a second
# thread while the main thread works under the main GIL; each makes N
# blocking calls (os.stat). Usage: own_gil.py N
import os
import sys
import threading

try:
    import _interpreters as interpreters  # 3.13: default config has its own GIL

    def create():
        return interpreters.create()
except ImportError:
    import _xxsubinterpreters as interpreters  # 3.12

    def create():
        return interpreters.create(isolated=True)

n = int(sys.argv[1])
interp = create()
code = "import os\nfor _ in range(%d):\n    os.stat('.')\n" % n
t = threading.Thread(target=interpreters.run_string, args=(interp, code))
t.start()
for _ in range(n):
    os.stat(".")
t.join()
