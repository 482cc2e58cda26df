<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Version 2: a SLiMS user per kiosk (its loans and returns are theirs),
// automatic check-in of returns as a per-kiosk choice, the notification
// state of each hold, and no kiosk PIN taken from an OPAC password.

require_once __DIR__ . '/../autoload.php';

class LokerbukuKioskUserAndPins extends \SLiMS\Migration\Migration
{
    function up()
    {
        $db = \SLiMS\DB::getInstance();
        // The columns added since version 1 (and anything later: the shared upgrade is whole).
        if (!\Lokerbuku\Sync\Schema::upgrade($db)) {
            return;
        }
        // Kiosks of version 1 act for SLiMS's first user (the installer's
        // administrator) until staff choose another on the staff page.
        $db->exec('UPDATE lokerbuku_kiosk SET user_id = (SELECT MIN(user_id) FROM user) WHERE user_id IS NULL');
        $db->exec("UPDATE lokerbuku_hold SET notify_state = 'sent' WHERE notified_at IS NOT NULL");
        // Version 1 took kiosk PINs from OPAC passwords: they are cleared,
        // members set a new one; their holds go to the kiosks again.
        $db->beginTransaction();
        $members = $db->query('SELECT member_id FROM lokerbuku_member_pin')->fetchAll(\PDO::FETCH_COLUMN);
        $db->exec('DELETE FROM lokerbuku_member_pin');
        $seq = $db->prepare('UPDATE lokerbuku_seq SET value = LAST_INSERT_ID(value + 1) WHERE id = 1');
        $touch = $db->prepare("UPDATE lokerbuku_hold SET change_seq = LAST_INSERT_ID() WHERE member_id = ?"
            . " AND state IN ('pending', 'loaded')");
        foreach ($members as $m) {
            $seq->execute();
            $touch->execute([$m]);
        }
        $db->commit();
    }

    function down()
    {
    }
}
