"""python exitwatch.py MODULE ARGS...: run `python -m MODULE ARGS` and, once SFT's save_final returns, dump every
thread's stack every 15 s into $EXITWATCH_DIR/<pid>.log until the process is gone (diagnoses SFT's exit gap)."""
import atexit, faulthandler, os, runpy, sys, time

started = time.time()
folder = os.environ.get("EXITWATCH_DIR", "/tmp/res/exitwatch")
os.makedirs(folder, exist_ok=True)
log = open(os.path.join(folder, f"{os.getpid()}.log"), "a")


def stamp(message):
    log.write(f"[{time.strftime('%H:%M:%S')} +{time.time() - started:.1f} s] {message}\n")
    log.flush()


stamp("argv " + " ".join(sys.argv[1:]))
import actrep.train.sft as sft  # noqa: E402

original_save_final = sft.save_final


def save_final(trainer):
    output = original_save_final(trainer)
    stamp("save_final returned; dumping stacks every 15 s from now")
    faulthandler.dump_traceback_later(15, repeat=True, file=log)
    return output


sft.save_final = save_final
atexit.register(lambda: stamp("atexit (last registered, first to run)"))
sys.argv = sys.argv[1:]
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    stamp(f"main returned: {sys.exc_info()[1]!r}")
