<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Version 5: Locker Sync API v1.1: commands that expire (expires_at) and
// resend_events (from_seq).

require_once __DIR__ . '/../autoload.php';

class LokerbukuSync11 extends \SLiMS\Migration\Migration
{
    function up()
    {
        \Lokerbuku\Sync\Schema::upgrade(\SLiMS\DB::getInstance());
    }

    function down()
    {
    }
}
