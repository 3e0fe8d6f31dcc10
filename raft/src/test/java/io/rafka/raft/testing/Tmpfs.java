package io.rafka.raft.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Small tmpfs file systems a test mounts over nodes' data folders and fills to the last byte, so the disk-full
 * failures it exercises are the kernel's own (ENOSPC, and SIGBUS for memory-mapped pages). Needs root, as CI runs;
 * elsewhere the test is skipped. Closing unmounts them.
 */
public final class Tmpfs implements AutoCloseable {
    private final List<Path> mounts = new ArrayList<>();

    /** Mounts a tmpfs of {@code mib} MiB on each folder (created if missing). */
    public void mount(int mib, Path... dirs) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root (CI runs as root)");
        for (Path dir : dirs) {
            Files.createDirectories(dir);
            run("mount", "-t", "tmpfs", "-o", "size=" + mib + "m", "tmpfs", dir.toString());
            mounts.add(dir);
        }
    }

    /** Fills the file system of {@code dir} to the last byte with one file, returned (delete it to free the space). */
    public static Path fill(Path dir) throws IOException {
        Path filler = dir.resolve("filler");
        try (OutputStream out = Files.newOutputStream(filler)) {
            for (int chunk : new int[]{1 << 20, 4096, 1}) {
                byte[] zeros = new byte[chunk];
                try {
                    while (true) {
                        out.write(zeros);
                        out.flush();
                    }
                } catch (IOException full) {
                    // no room for another chunk of this size: go on with smaller ones
                }
            }
        }
        // (Nodes may free a few pages meanwhile, e.g. a file they truncate: nearly full is full enough.)
        long left = Files.getFileStore(dir).getUsableSpace();
        assertTrue(left < 1 << 20, "the file system is full (" + left + " bytes left)");
        return filler;
    }

    @Override
    public void close() throws Exception {
        Exception failed = null;
        for (Path m : mounts) {
            try {
                run("umount", "-l", m.toString());
            } catch (Exception | AssertionError e) {
                if (failed == null) {
                    failed = new Exception("unmounting failed", e);
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        mounts.clear();
        if (failed != null) {
            throw failed;
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + output);
    }
}
