<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// PHPUnit bootstrap: mocks of SLiMS's classes, the plugin, and the test
// case that installs SLiMS's own tables (run-phpunit.sh unpacks SLiMS's
// installer SQL) and the plugin's migrations for every test.
require __DIR__ . '/mock-slims.php';
mock_load_plugin();
require __DIR__ . '/SlimsTestCase.php';
