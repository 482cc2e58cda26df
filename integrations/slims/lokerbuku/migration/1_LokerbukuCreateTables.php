<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The plugin's own tables: kiosks, holds routed to lockers, enrolled cards,
// member PINs, staff, the change sequence, events, commands. SLiMS runs
// this when the plugin is activated (System -> Plugins).

require_once __DIR__ . '/../autoload.php';

class LokerbukuCreateTables extends \SLiMS\Migration\Migration
{
    function up()
    {
        \Lokerbuku\Sync\Schema::create(\SLiMS\DB::getInstance());
    }

    function down()
    {
        \Lokerbuku\Sync\Schema::drop(\SLiMS\DB::getInstance());
    }
}
