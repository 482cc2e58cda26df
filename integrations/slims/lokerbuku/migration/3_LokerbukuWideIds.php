<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Version 3: the tables are the shared sync server's (integrations/common),
// whose member numbers and barcodes take 63 bytes (version 1 and 2 kept
// 20, SLiMS's own width): widened in place, nothing else changes.

require_once __DIR__ . '/../autoload.php';

class LokerbukuWideIds extends \SLiMS\Migration\Migration
{
    function up()
    {
        \Lokerbuku\Sync\Schema::upgrade(\SLiMS\DB::getInstance());
    }

    function down()
    {
    }
}
