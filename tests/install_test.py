#!/usr/bin/env python3
"""`cmake --install` and the Debian package, as a user would use them.

Installs the build tree under a fresh prefix and checks what lands there (the binary, the man page,
the bash, zsh and fish completions, each loaded by its shell and asked to complete); then builds
the .deb with CPack, reads its control fields, has apt resolve its dependencies (a simulated
install), unpacks it with dpkg into a temporary root, and runs `mex --version` from there.

Usage: install_test.py --build BUILD_DIR
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import unittest

BUILD = None


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=False, **kw)


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mex-install-")
        cls.prefix = os.path.join(cls.tmp.name, "prefix")
        r = run(["cmake", "--install", BUILD, "--prefix", cls.prefix])
        if r.returncode != 0:
            raise AssertionError("cmake --install failed:\n" + r.stdout + r.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def test_the_binary_and_the_man_page(self):
        r = run([self.path("bin", "mex"), "--version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "mex 0.1.0\n")
        page = self.path("share", "man", "man1", "mex.1")
        self.assertTrue(os.path.isfile(page))
        r = run(["man", "-l", page], env=dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                                                PAGER="cat"))
        self.assertEqual(r.returncode, 0, r.stderr)
        for section in ("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS", "EXAMPLES"):
            self.assertIn(section, r.stdout)
        self.assertIn("the milestone executor", r.stdout)

    def bash_complete(self, words, cwd=None):
        """What bash offers for the last of `words`, the script loaded as bash-completion would."""
        script = self.path("share", "bash-completion", "completions", "mex")
        quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
        program = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
                   "_mex; printf '%s\\n' \"${COMPREPLY[@]}\"")
        r = run(["bash", "--norc", "--noprofile", "-c", program], cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        return sorted(line for line in r.stdout.splitlines() if line)

    def test_bash_completes_commands_options_values_and_milestone_files(self):
        self.assertEqual(self.bash_complete(["mex", "ru"]), ["run"])
        self.assertEqual(self.bash_complete(["mex", "st"]), ["status"])
        self.assertEqual(self.bash_complete(["mex", "run", "--pro"]), ["--progress"])
        self.assertEqual(self.bash_complete(["mex", "run", "--progress", ""]),
                         ["auto", "live", "plain"])
        self.assertEqual(self.bash_complete(["mex", "-d", "stats", "graph", "--format", "m"]),
                         ["mermaid"])
        self.assertEqual(self.bash_complete(["mex", "completion", ""]), ["bash", "fish", "zsh"])
        with tempfile.TemporaryDirectory() as d:
            for name in ("m.yaml", "b.json", "notes.txt"):
                open(os.path.join(d, name), "w").close()
            os.mkdir(os.path.join(d, "sub"))
            self.assertEqual(self.bash_complete(["mex", "run", ""], cwd=d),
                             ["b.json", "m.yaml", "sub"])
            # After a flag, still a milestone file; after an option that takes a path, any file.
            self.assertEqual(self.bash_complete(["mex", "run", "--json", ""], cwd=d),
                             ["b.json", "m.yaml", "sub"])
            self.assertEqual(self.bash_complete(["mex", "run", "--state-dir", ""], cwd=d),
                             ["b.json", "m.yaml", "notes.txt", "sub"])

    def test_fish_completes_commands_and_options(self):
        script = self.path("share", "fish", "vendor_completions.d", "mex.fish")

        def complete(line):
            r = run(["fish", "--no-config", "-c", f"source '{script}'; complete -C '{line}'"],
                    env=dict(os.environ, HOME=self.tmp.name, XDG_CONFIG_HOME=self.tmp.name,
                             XDG_DATA_HOME=self.tmp.name))
            self.assertEqual(r.returncode, 0, r.stderr)
            return sorted(l.split("\t")[0] for l in r.stdout.splitlines())

        self.assertIn("run", complete("mex ru"))
        self.assertEqual(complete("mex run --pro"), ["--progress"])
        self.assertEqual(complete("mex run --progress "), ["auto", "live", "plain"])
        # A flag takes no value: after it come the command's options again, not its value.
        self.assertEqual(complete("mex run --json --pro"), ["--progress"])

    def test_zsh_reads_its_completion_function(self):
        script = self.path("share", "zsh", "vendor-completions", "_mex")
        r = run(["zsh", "-n", script])
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(script) as f:
            text = f.read()
        self.assertTrue(text.startswith("#compdef mex\n"))
        for word in ("'run:", "'--progress[", "(auto live plain)"):
            self.assertIn(word, text)


class DebianPackage(unittest.TestCase):
    def test_the_deb_unpacks_and_runs(self):
        with tempfile.TemporaryDirectory(prefix="mex-deb-") as tmp:
            r = run(["cpack", "-G", "DEB", "-B", tmp, "--config",
                     os.path.join(BUILD, "CPackConfig.cmake")])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            debs = glob.glob(os.path.join(tmp, "*.deb"))
            self.assertEqual(len(debs), 1, os.listdir(tmp))
            fields = run(["dpkg-deb", "-f", debs[0], "Package", "Version", "Depends"]).stdout
            self.assertIn("Package: mex\n", fields)
            self.assertIn("Version: 0.1.0\n", fields)
            # dpkg-shlibdeps named the libraries it links: Debian 12's packages.
            for package in ("libc6", "libstdc++6", "libsqlite3-0", "libyaml-cpp0.7"):
                self.assertIn(package, fields)
            # apt's resolver finds every Depends among Debian 12's packages (simulated: the
            # machine is left as it was).
            r = run(["apt-get", "install", "--simulate", "--no-install-recommends", debs[0]])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("Inst mex (0.1.0 ", r.stdout)
            self.assertIn("Conf mex (0.1.0 ", r.stdout)
            root = os.path.join(tmp, "root")
            r = run(["dpkg", "-x", debs[0], root])
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run([os.path.join(root, "usr", "bin", "mex"), "--version"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "mex 0.1.0\n")
            for path in ("usr/share/man/man1/mex.1", "usr/share/bash-completion/completions/mex",
                         "usr/share/zsh/vendor-completions/_mex",
                         "usr/share/fish/vendor_completions.d/mex.fish"):
                self.assertTrue(os.path.isfile(os.path.join(root, path)), path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    args, rest = parser.parse_known_args()
    BUILD = os.path.abspath(args.build)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
