import java.util.ArrayList;
public class HeapHog {
    public static void main(String[] args) {
        ArrayList<long[]> hog = new ArrayList<>();
        for (;;) hog.add(new long[8 << 20]);
    }
}
