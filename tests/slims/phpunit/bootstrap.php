<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// PHPUnit bootstrap: the SLiMS stand-in, the plugin, and its migration run
// once against the test MariaDB that run-phpunit.sh started.
require __DIR__ . '/../slims-standin/bootstrap.php';
standin_load_plugin();
require __DIR__ . '/SlimsTestCase.php';
