#!/usr/bin/env python3
"""scripts/check-layers.py on a copy of src/: the tree as it is passes, and each include planted
against src/LAYERS fails the check with the file and line that broke it (ctest: `layers`)."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CHECK = os.path.join(ROOT, "scripts", "check-layers.py")


class LayersTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="mex-layers-")
        self.src = os.path.join(self.work, "src")
        shutil.copytree(os.path.join(ROOT, "src"), self.src)

    def tearDown(self):
        shutil.rmtree(self.work)

    def check(self):
        done = subprocess.run([sys.executable, CHECK, "--src", self.src], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        return done.returncode, done.stdout

    def plant(self, relative, text):
        """Appends `text` to src/RELATIVE (created if missing); returns the line it starts at."""
        path = os.path.join(self.src, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lines = 0
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                lines = len(f.readlines())
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
        return lines + 1

    def assert_refused(self, relative, header, expected):
        """Plants an include of `header` in src/RELATIVE: the check fails, naming that line."""
        line = self.plant(relative, f'#include "{header}"\n')
        code, out = self.check()
        self.assertEqual(code, 1)
        self.assertIn(f"src/{relative}:{line}: includes {header}{expected}", out)

    def test_the_tree_as_it_is_passes(self):
        self.assertEqual(self.check(), (0, ""))

    def test_the_engine_including_a_concrete_store_fails(self):
        self.assert_refused("engine/task_runner.cc", "store/sqlite_store.h",
                            ", against the layers: engine may include")

    def test_a_lower_layer_including_a_higher_one_fails(self):
        self.assert_refused("model/milestone.h", "plan/graph.h", ", against the layers")

    def test_a_header_named_alone_allows_that_header_only(self):
        self.plant("exec/local_executor.cc", '#include "engine/executor.h"\n')
        self.assertEqual(self.check(), (0, ""))
        self.assert_refused("exec/local_executor.cc", "engine/store.h",
                            ", against the layers: exec may include engine/executor.h util")

    def test_a_test_may_include_any_layer(self):
        self.plant("model/milestone_test.cc", '#include "commands/commands.h"\n')
        self.assertEqual(self.check(), (0, ""))

    def test_a_folder_missing_from_the_table_fails(self):
        self.plant("slurm/slurm_executor.cc", '#include "engine/executor.h"\n')
        code, out = self.check()
        self.assertEqual(code, 1)
        self.assertIn("src/slurm: the folder is not a layer of src/LAYERS", out)

    def test_a_table_naming_a_layer_before_it_is_listed_fails(self):
        with open(os.path.join(self.src, "LAYERS"), "a", encoding="utf-8") as f:
            f.write("early  later\nlater  util\n")
        code, out = self.check()
        self.assertNotEqual(code, 0)
        self.assertIn("'later' is not a layer listed above 'early'", out)


if __name__ == "__main__":
    unittest.main()
