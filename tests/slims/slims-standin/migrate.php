<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Activates the plugin in the stand-in: runs its migrations.
require __DIR__ . '/bootstrap.php';
echo 'lokerbuku migration version ', standin_migrate(\SLiMS\DB::getInstance()), "\n";
