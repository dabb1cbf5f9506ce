# Runs SCRIPT ARGS once a line can be read from FIFO, so tracers can attach
# to a waiting process first. Usage: gated.py FIFO SCRIPT [ARGS...]
import os
import runpy
import sys

with open(sys.argv[1]) as f:
    f.readline()
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
