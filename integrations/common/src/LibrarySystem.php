<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// What a library system (SLiMS, INLISLite) gives the shared server side of
// Locker Sync API v1: its members, items, staff accounts, circulation,
// channels to patrons and log. Everything else (authentication, changes,
// events exactly once, status and commands, item lookup, the error
// format, the plugin's own tables) is in this folder, once.
// See ../README.md for the contracts in full.

namespace Lokerbuku\Sync;

interface LibrarySystem
{
    /**
     * A short name of 1 to 16 ASCII letters and digits ('SLiMS',
     * 'INLISLite'): the start of hold ids the shared code makes
     * ('<name>-I<n>') and of messages staff read.
     */
    public function name(): string;

    /**
     * A member by member number (what 'card:<number>' on the member card
     * carries), or null when there is none. Cheap: called for every hold
     * sent to a kiosk.
     */
    public function member(string $memberNo): ?Member;

    /**
     * An item by barcode, compared as the library system compares them
     * (SLiMS: case-blind); Item->barcode is the barcode as stored. Null
     * when there is none.
     */
    public function item(string $barcode): ?Item;

    /**
     * The staff account a kiosk's loans and returns are made by, or null
     * when $userId (the kiosk's user_id column) names none.
     */
    public function actor(?int $userId, string $kioskId): ?Actor;

    /**
     * Lends items to a member as of $date (Y-m-d, the library's calendar
     * day), each by the library's own rules, inside the transaction the
     * caller has open (it also records the event id): never commits or
     * rolls back. Returns one Outcome per barcode given, keyed by it:
     * done (text e.g. 'loan 12 due 2026-12-20') or refused (a reason code
     * such as Outcome::ITEM_LENT). Throws only when the database fails:
     * then the whole event is rolled back and the kiosk sends it again.
     *
     * @param string[] $barcodes barcodes as stored (from item())
     * @return array<string, Outcome>
     */
    public function checkOut(string $memberNo, array $barcodes, string $date, Actor $actor): array;

    /**
     * Returns an item on loan as of $date (Y-m-d), inside the caller's
     * transaction as checkOut(): done (text 'returned' or 'returned, fine
     * 1500') or refused Outcome::NOT_ON_LOAN.
     */
    public function checkIn(string $barcode, string $date, Actor $actor): Outcome;

    /**
     * Tells a patron that a hold is in a locker, by the library's channels
     * (hooks for other plugins, SMS, e-mail, WhatsApp gateway). Returns
     * null when the patron was told, else why not in one line for staff
     * (then it is tried again later with backoff). Called outside any
     * transaction; may take seconds; should not throw.
     */
    public function notify(Notice $notice): ?string;

    /**
     * One line about a failure for staff: the library system's own log
     * (SLiMS: System Log) and PHP's error_log. Never throws. $about: a
     * kiosk or hold id, or ''.
     */
    public function log(string $line, string $about = ''): void;
}
