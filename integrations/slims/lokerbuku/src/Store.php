<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The shared tables (Lokerbuku\Sync\Store) with SLiMS as the library
// system, and what only SLiMS has: routing its reservations to a kiosk,
// and its users to choose a kiosk's from.

namespace Lokerbuku\Slims;

use Lokerbuku\Sync\Text;

final class Store extends \Lokerbuku\Sync\Store
{
    public function __construct(\PDO $db)
    {
        parent::__construct($db, new Library($db));
    }

    /** SLiMS's users (staff accounts): user_id => "realname (username)". */
    public function users(): array
    {
        $out = [];
        foreach ($this->db()->query('SELECT user_id, username, realname FROM user ORDER BY realname, user_id LIMIT 1000')
            ->fetchAll(\PDO::FETCH_ASSOC) as $u) {
            $out[(int) $u['user_id']] = $u['realname'] . ' (' . $u['username'] . ')';
        }
        return $out;
    }

    /**
     * Routes reservations to a kiosk as one hold (the items staff fetched
     * for one member): the hold appears on the kiosk for loading. Returns
     * the hold id ('SLiMS-<first reserve_id>'). Refuses a reservation that
     * is not at the head of its item's queue, or already routed.
     */
    public function routeReservations(array $reserveIds, string $kioskId, string $size = 'small'): string
    {
        if (!in_array($size, self::SIZES, true)) {
            throw new \InvalidArgumentException('size: small, medium or large');
        }
        $reserveIds = array_values(array_unique(array_map('intval', $reserveIds)));
        if (!$reserveIds || count($reserveIds) > self::ITEMS_MAX) {
            throw new \InvalidArgumentException('1 to 16 reservations make a hold');
        }
        return $this->transaction(function () use ($reserveIds, $kioskId, $size) {
            if (!$this->kiosk($kioskId)) {
                throw new \InvalidArgumentException("no kiosk $kioskId");
            }
            $db = $this->db();
            $member = null;
            $items = [];
            foreach ($reserveIds as $rid) {
                $st = $db->prepare('SELECT reserve_id, member_id, item_code, reserve_date'
                    . ' FROM reserve WHERE reserve_id = ? FOR UPDATE');
                $st->execute([$rid]);
                $r = $st->fetch(\PDO::FETCH_ASSOC);
                if (!$r) {
                    throw new \InvalidArgumentException("no reservation $rid");
                }
                if ($member !== null && $r['member_id'] !== $member) {
                    throw new \InvalidArgumentException('one hold is for one member');
                }
                $member = $r['member_id'];
                if (!Text::isId($r['item_code'])) {
                    throw new \InvalidArgumentException("reservation $rid: item code not usable as a barcode");
                }
                $ahead = $db->prepare('SELECT member_id FROM reserve WHERE item_code = ?'
                    . ' ORDER BY reserve_date, reserve_id LIMIT 1');
                $ahead->execute([$r['item_code']]);
                if ($ahead->fetchColumn() !== $member) {
                    throw new \InvalidArgumentException("reservation $rid: another member is ahead in the queue");
                }
                if ($other = $this->openHoldOf($r['item_code'])) {
                    throw new \InvalidArgumentException("item {$r['item_code']} is already in hold $other");
                }
                $items[] = $r['item_code'];
            }
            $holdId = 'SLiMS-' . $reserveIds[0];
            $exists = $this->prepare('SELECT 1 FROM {hold} WHERE hold_id = ?');
            $exists->execute([$holdId]);
            if ($exists->fetchColumn()) {
                // Hold ids are never reused: a second routing gets a suffix.
                $n = (int) $this->query('SELECT COUNT(*) FROM {hold} WHERE hold_id LIKE '
                    . $db->quote($holdId . '-%'))->fetchColumn();
                $holdId .= '-' . ($n + 2);
            }
            $this->createHold($holdId, $member, $kioskId, $size, $items, $reserveIds[0]);
            return $holdId;
        });
    }
}
