"""tests/forked_python.py, the tests' `python` that forks from a preloaded server: what a call keeps of `python`."""

import os
import signal
import subprocess
import time


def test_a_call_keeps_python_s_arguments_directory_environment_and_exit_status(forked_python, tmp_path):
    code = "import os, sys; print(sys.argv[1:], os.getcwd(), os.environ['PROBE']); sys.exit(3)"
    done = subprocess.run([*forked_python.python, "-c", code, "a", "b"], cwd=tmp_path, env={**os.environ, "PROBE": "x"},
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (3, f"['a', 'b'] {tmp_path} x\n")


def test_a_killed_client_takes_its_forked_process_with_it(forked_python, tmp_path):
    """A test's timeout kills the client outright (no signal to forward): the forked process must not run on."""
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    client = subprocess.Popen([*forked_python.python, "-c", code])
    while not pid_file.exists() or not pid_file.read_text():
        assert client.poll() is None, "the call ended before it started"
        time.sleep(0.05)
    forked = int(pid_file.read_text())
    client.send_signal(signal.SIGKILL)
    client.wait()
    for _ in range(1200):  # the server reaps it; up to 60 s on a loaded machine
        try:
            os.kill(forked, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"forked process {forked} still runs after its client was killed")
