<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// PHP warnings kept inside the integration. SLiMS's own error handler
// answers any warning with an HTML error page and ends the request,
// whatever catch or '@' surrounds it; run() throws them instead, so that
// the API answers its own JSON error and a failed e-mail is only a failed
// e-mail. log() hands the one line a librarian finds to the library
// system (LibrarySystem::log), or PHP's error log when there is none.

namespace Lokerbuku\Sync;

final class Guard
{
    private const THROWN = E_WARNING | E_USER_WARNING | E_RECOVERABLE_ERROR | E_USER_ERROR | E_CORE_WARNING
        | E_COMPILE_WARNING;

    /** Runs $fn with warnings thrown as \ErrorException; returns what it returns. */
    public static function run(callable $fn)
    {
        set_error_handler(static function (int $severity, string $message, string $file = '', int $line = 0): bool {
            // '@' silences as PHP means it to; notices and deprecations pass.
            if (!(error_reporting() & $severity) || !($severity & self::THROWN)) {
                return true;
            }
            throw new \ErrorException($message, 0, $severity, $file, $line);
        });
        try {
            return $fn();
        } finally {
            restore_error_handler();
        }
    }

    /** One line about a failure, for staff: the library system's log, else PHP's error log. */
    public static function log(?LibrarySystem $lib, string $what, string $about = ''): void
    {
        $line = Text::cut($what, 1000);
        if ($lib === null) {
            error_log('lokerbuku: ' . $line);
            return;
        }
        try {
            $lib->log($line, Text::cut($about, 63));
        } catch (\Throwable $e) {
            error_log('lokerbuku: ' . $line);
            error_log('lokerbuku: cannot log: ' . $e->getMessage());
        }
    }

    /** "Class: message at file:line" of an exception, for the log only (never for a kiosk). */
    public static function describe(\Throwable $e): string
    {
        return get_class($e) . ': ' . $e->getMessage() . ' at ' . basename($e->getFile()) . ':' . $e->getLine();
    }
}
