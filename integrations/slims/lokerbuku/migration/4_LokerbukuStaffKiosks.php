<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Version 4: staff cards scoped to kiosks (lokerbuku_staff_kiosk), so a
// kiosk holds only its own staff's PIN hashes (issue 19, point 12).

require_once __DIR__ . '/../autoload.php';

class LokerbukuStaffKiosks extends \SLiMS\Migration\Migration
{
    function up()
    {
        $db = \SLiMS\DB::getInstance();
        \Lokerbuku\Sync\Schema::create($db);
        \Lokerbuku\Sync\Schema::upgrade($db);
    }

    function down()
    {
    }
}
