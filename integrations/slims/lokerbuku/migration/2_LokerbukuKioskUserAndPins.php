<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Version 2: a SLiMS user per kiosk (its loans and returns are theirs),
// automatic check-in of returns as a per-kiosk choice, the notification
// state of each hold, and no kiosk PIN taken from an OPAC password.

require_once __DIR__ . '/../src/Schema.php';

class LokerbukuKioskUserAndPins extends \SLiMS\Migration\Migration
{
    function up()
    {
        \Lokerbuku\Slims\Schema::upgrade(\SLiMS\DB::getInstance());
    }

    function down()
    {
    }
}
