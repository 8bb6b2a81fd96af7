"""Hello-world, stdin-echo and compile-error programs for every language."""

from __future__ import annotations

HELLO: dict[str, str] = {
    "python": 'print("hello")\n',
    "javascript": 'console.log("hello");\n',
    "typescript": 'const greeting: string = "hello";\nconsole.log(greeting);\n',
    "c": '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
    "cpp": '#include <iostream>\nint main() { std::cout << "hello" << std::endl; }\n',
    "java": (
        "public class Hello {\n"
        '    public static void main(String[] args) { System.out.println("hello"); }\n'
        "}\n"
    ),
    "go": 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello") }\n',
    "rust": 'fn main() { println!("hello"); }\n',
    "bash": "echo hello\n",
}

# Each reads one line from stdin and prints it back upper-cased.
ECHO: dict[str, str] = {
    "python": "print(input().upper())\n",
    "javascript": (
        "const data = require('fs').readFileSync(0, 'utf8');\n"
        "console.log(data.split('\\n')[0].toUpperCase());\n"
    ),
    "typescript": (
        "import * as fs from 'fs';\n"
        "const line: string = fs.readFileSync(0, 'utf8').split('\\n')[0];\n"
        "console.log(line.toUpperCase());\n"
    ),
    "c": (
        "#include <stdio.h>\n#include <ctype.h>\n"
        "int main(void) { char s[100]; if (!fgets(s, sizeof s, stdin)) return 1;\n"
        "  for (char *p = s; *p; p++) *p = toupper(*p); fputs(s, stdout); return 0; }\n"
    ),
    "cpp": (
        "#include <iostream>\n#include <string>\n#include <algorithm>\n"
        "int main() { std::string s; std::getline(std::cin, s);\n"
        "  std::transform(s.begin(), s.end(), s.begin(), ::toupper);\n"
        "  std::cout << s << '\\n'; }\n"
    ),
    "java": (
        "import java.util.Scanner;\n"
        "class Main {\n"
        "    public static void main(String[] args) {\n"
        "        System.out.println(new Scanner(System.in).nextLine().toUpperCase());\n"
        "    }\n"
        "}\n"
    ),
    "go": (
        'package main\nimport ("bufio"; "fmt"; "os"; "strings")\n'
        "func main() { r := bufio.NewReader(os.Stdin); s, _ := r.ReadString('\\n');\n"
        "  fmt.Println(strings.ToUpper(strings.TrimSpace(s))) }\n"
    ),
    "rust": (
        "use std::io::BufRead;\n"
        "fn main() { let line = std::io::stdin().lock().lines().next().unwrap().unwrap();\n"
        '  println!("{}", line.to_uppercase()); }\n'
    ),
    "bash": 'read -r line\necho "${line^^}"\n',
}

# Languages with a compile step, each with a program that does not compile.
COMPILE_ERROR: dict[str, str] = {
    "typescript": 'const n: number = "not a number";\nconsole.log(n);\n',
    "c": "int main(void) { return undefined_name; }\n",
    "cpp": "int main() { std::cout << 1; }\n",
    "java": "public class Main { public static void main(String[] a) { int x = ; } }\n",
    "go": "package main\nfunc main() { undefinedName() }\n",
    "rust": 'fn main() { let x: i32 = "text"; }\n',
}

# Interpreted languages: a syntax error surfaces as a runtime error.
SYNTAX_ERROR: dict[str, str] = {
    "python": "def broken(:\n",
    "javascript": "function (\n",
    "bash": "if then fi\n",
}
