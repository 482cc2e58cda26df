<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// INLISLite's calendar of closed days: Saturdays and Sundays when its
// settings IsSaturdayHoliday / IsSundayHoliday say 'True', and the dated
// rows of its `holidays` table (in 3.3 only those with active = 1).

namespace Lokerbuku\Inlislite;

final class Calendar
{
    /** @var array<string, true>|null holiday dates 'Y-m-d' */
    private ?array $dates = null;

    public function __construct(private \PDO $db, private Version $version, private Settings $settings)
    {
    }

    public function saturdayOff(): bool
    {
        return $this->settings->isTrue('IsSaturdayHoliday');
    }

    public function sundayOff(): bool
    {
        return $this->settings->isTrue('IsSundayHoliday');
    }

    public function isSaturday(\DateTimeImmutable $d): bool
    {
        return $d->format('N') === '6';
    }

    /** A Saturday or Sunday that the settings make a holiday. */
    public function isWeekendHoliday(\DateTimeImmutable $d): bool
    {
        $n = $d->format('N');
        return ($n === '6' && $this->saturdayOff()) || ($n === '7' && $this->sundayOff());
    }

    /** Rows of `holidays` dated from $from to $to, both days included. */
    public function holidaysBetween(\DateTimeImmutable $from, \DateTimeImmutable $to): int
    {
        if ($this->dates === null) {
            $this->dates = [];
            $st = $this->db->query('SELECT DATE(h.Dates) FROM holidays h WHERE 1 = 1'
                . $this->version->activeRow('h'));
            foreach ($st->fetchAll(\PDO::FETCH_COLUMN) as $d) {
                $this->dates[$d] = true;
            }
        }
        $a = $from->format('Y-m-d');
        $b = $to->format('Y-m-d');
        $n = 0;
        foreach ($this->dates as $d => $_) {
            $n += (strcmp($d, $a) >= 0 && strcmp($d, $b) <= 0) ? 1 : 0;
        }
        return $n;
    }
}
