/* style.c - the pages' one style sheet, served at /static/page.css (the CSP
 * allows style-src 'self' and nothing else).  Fluid, readable on a phone. */
#include "web.h"

const char web_css[] =
	"*{box-sizing:border-box}\n"
	"html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
	"body{margin:0;padding:1rem;font:1rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
	"color:#1b1f24;background:#f4f6f8}\n"
	"main{max-width:40rem;margin:0 auto;background:#fff;border-radius:.5rem;padding:1.25rem;"
	"box-shadow:0 1px 3px rgba(0,0,0,.12)}\n"
	"h1{font-size:1.4rem;line-height:1.3;margin:0 0 1rem}\n"
	"h2{font-size:1.1rem;margin:1.5rem 0 .5rem}\n"
	"dl{margin:0}dt{font-weight:600;margin-top:.6rem}dd{margin:0;overflow-wrap:anywhere}\n"
	"ul{padding-left:1.2rem;margin:.3rem 0}li{overflow-wrap:anywhere}\n"
	".state{padding:.75rem 1rem;border-radius:.4rem;background:#eef4ff;border-left:4px solid #2f6fde}\n"
	".state.gone{background:#fff4e5;border-left-color:#d97706}\n"
	".state.done{background:#ecfdf3;border-left-color:#15803d}\n"
	".ok{color:#15803d;font-weight:600}.no{color:#b91c1c;font-weight:600}.wait{color:#57606a}\n"
	"form{margin-top:1.5rem;display:flex;flex-wrap:wrap;gap:.75rem}\n"
	"button{flex:1 1 12rem;min-height:3rem;font:inherit;font-weight:600;border-radius:.4rem;"
	"border:1px solid #8c959f;background:#fff;color:#1b1f24;padding:.6rem 1rem;cursor:pointer}\n"
	"button.accept{background:#15803d;border-color:#15803d;color:#fff}\n"
	"button.refuse{background:#fff;border-color:#b91c1c;color:#b91c1c}\n"
	"button.report{flex-basis:100%;background:#f6f8fa;font-weight:400}\n"
	".note{font-size:.9rem;color:#57606a}\n";
