<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// PHPUnit bootstrap of the bridge's own tests: its classes (and the shared
// ones) from the source tree, the test case holding INLISLite's database.
require __DIR__ . '/../../../integrations/inlislite/src/Bridge.php';
\Lokerbuku\Inlislite\Bridge::autoload();
require __DIR__ . '/InlisliteTestCase.php';
