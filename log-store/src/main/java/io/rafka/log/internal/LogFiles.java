package io.rafka.log.internal;

import java.nio.file.Path;

/** File names of a partition folder, in Kafka's layout. The one place these strings live. */
public final class LogFiles {
    public static final String LOG_SUFFIX = ".log";
    public static final String INDEX_SUFFIX = ".index";
    public static final String TIME_INDEX_SUFFIX = ".timeindex";
    /** Suffix of files being written before an atomic rename. */
    public static final String TMP_SUFFIX = ".tmp";
    /** Present only while a partition is cleanly closed: its indexes and recovery point can be trusted. */
    public static final String CLEAN_SHUTDOWN_FILE = ".rafka_cleanshutdown";
    /** The recovery point: every byte below this offset is flushed and indexed on disk. */
    public static final String RECOVERY_POINT_FILE = "recovery-point-offset-checkpoint";

    private LogFiles() {
    }

    /** The 20-digit, zero-padded base offset that names a segment's files. */
    public static String filenamePrefix(long baseOffset) {
        return String.format("%020d", baseOffset);
    }

    public static Path logFile(Path dir, long baseOffset) {
        return dir.resolve(filenamePrefix(baseOffset) + LOG_SUFFIX);
    }

    public static Path offsetIndexFile(Path dir, long baseOffset) {
        return dir.resolve(filenamePrefix(baseOffset) + INDEX_SUFFIX);
    }

    public static Path timeIndexFile(Path dir, long baseOffset) {
        return dir.resolve(filenamePrefix(baseOffset) + TIME_INDEX_SUFFIX);
    }

    /** The base offset named by a segment file, or -1 if the name is not a segment file's. */
    public static long baseOffsetOf(String fileName, String suffix) {
        if (!fileName.endsWith(suffix)) {
            return -1;
        }
        String digits = fileName.substring(0, fileName.length() - suffix.length());
        if (digits.length() != 20 || !digits.chars().allMatch(Character::isDigit)) {
            return -1;
        }
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
